"""The engine end to end on PostgreSQL (tables, tsvector keyword search, pgvector passages) beside the
same engine on SQLite and FAISS: the same corpus answers the same questions alike, and several engines
on one database follow each other's writes and take turns to write (the database's locks)."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from index.core.errors import EngineError, OperatorError
from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.search.answer import AskResult
from index.storage import locks
from index.storage.postgres.store import SETTLED
from index.storage.postgres.urls import masked
from index.storage.postgres.vectors import PgVectorIndex
from index.storage.store import Filters
from index.storage.vectors import PassageIndex

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED = [FIXTURES / "time" / "articles.jsonl", Path(__file__).resolve().parents[2] / "examples" / "news"]
OWN = FIXTURES / "running" / "articles.jsonl"  # server 42's own news
SERVER = "42"

QUESTIONS: list[tuple[str, Filters]] = [
    ("How big a pay rise did the Northway ferry crews accept?", Filters()),
    ("How many crew members were expected to walk out?", Filters()),
    ("What did North Korea fire on Friday?", Filters()),
    ("How much will rebuilding the harbour wall cost?", Filters(until="2023-12-31")),
    ("How much will rebuilding the harbour wall cost?", Filters(since="2024-01-01")),
    ("How many workers died in the Brackwater mill fire?", Filters(scope=SERVER)),
    ("How many workers died in the Brackwater mill fire?", Filters()),  # another server's: not here
    ("Which pay offer did the Marrick bus drivers reject?", Filters(scope=SERVER, outlet="Marrick Echo")),
    ("When will the Dunmore library open on Sundays?", Filters(scope=SERVER)),
]


def _first(result: AskResult) -> tuple[bool, str | None, str | None, str | None]:
    """What a user sees first: whether it answers, and the article and sentence it quotes."""
    if not result.answers:
        return result.answered, None, None, None
    best = result.answers[0]
    return result.answered, best.article.id, best.article.scope, best.sentence


@pytest.fixture
def engines(hash_settings: Settings, pg_url: str, tmp_path: Path) -> Iterator[dict[str, Engine]]:
    """The hash-model engine on SQLite and on PostgreSQL, each with the shared corpus and server 42's."""
    pg = hash_settings.model_copy(update={"database_url": pg_url, "data_dir": tmp_path / "pg-data"})
    opened = {"sqlite": Engine(hash_settings), "postgres": Engine(pg)}
    try:
        for engine in opened.values():
            shared, own = engine.ingest_paths(SHARED), engine.ingest_paths([OWN], scope=SERVER)
            assert (shared.new, shared.copies, own.new + own.copies) == (8, 1, 8)
        yield opened
    finally:
        for engine in opened.values():
            engine.close()


def _answers(engine: Engine) -> list[tuple[bool, str | None, str | None, str | None]]:
    return [_first(engine.ask(question, None, filters)) for question, filters in QUESTIONS]


def test_both_backends_give_the_same_first_answers_and_search_hits(engines: dict[str, Engine]) -> None:
    sqlite, postgres = _answers(engines["sqlite"]), _answers(engines["postgres"])
    assert postgres == sqlite
    assert postgres[0][1] == "t-strike-off"
    assert [a[1] for a in postgres[3:5]] == ["t-wall-2023", "t-wall-2024"]  # the date filters apply
    fire, elsewhere = postgres[5], postgres[6]
    assert fire[1:3] == ("r-fire-toll", SERVER) and elsewhere[2] is None  # a server's own stays its own
    assert postgres[7][1] in {"r-bus-vote", "r-bus-talks", "r-bus-route", "r-market"}  # Marrick Echo's
    for name, engine in engines.items():
        hits = engine.search("ferry strike pay", 3, Filters(since="2024-05-06", until="2024-05-10"))
        assert len(hits) == 3, name  # a date filter before the cut still returns k
        assert all("2024-05-06" <= (h.article.published or "")[:10] <= "2024-05-10" for h in hits), name
    searched = {
        name: [(h.article.id, h.sentence) for h in engine.search("harbour wall council", 4)]
        for name, engine in engines.items()
    }
    assert searched["postgres"] == searched["sqlite"] and len(searched["postgres"]) == 4
    for words in (["harbour", "wall", "cost"], ["strike", "pay"], ["missiles"], ["fire", "toll"]):
        # Keyword search over what the engine stored: tsvector's BM25 ranks FTS5's best sentences first
        # (further down, near ties may swap: PostgreSQL's parser counts a few sentences' words otherwise).
        found = {
            name: engine.store.keyword_stories(words, Filters(scope=SERVER), 3)
            for name, engine in engines.items()
        }
        assert found["postgres"] == found["sqlite"] != [], words


def test_forget_and_reingest_change_the_answers_alike(engines: dict[str, Engine], tmp_path: Path) -> None:
    changed = tmp_path / "library.jsonl"
    library = next(json.loads(line) for line in SHARED[0].read_text().splitlines() if '"t-library"' in line)
    library["text"] = library["text"].replace("from June", "from August")
    changed.write_text(json.dumps(library) + "\n")
    firsts = {}
    for name, engine in engines.items():
        engine.forget("t-strike-off")  # its wire copy is kept, as a story of its own
        assert engine.ingest_paths([changed]).updated == 1
        firsts[name] = _answers(engine)
    assert firsts["postgres"] == firsts["sqlite"]
    assert firsts["postgres"][0][1] == "t-strike-off-copy"
    library_answer = _first(engines["postgres"].ask("When will the Dunmore library open on Sundays?"))
    assert library_answer[1] == "t-library" and "August" in (library_answer[3] or "")
    assert engines["postgres"].index.count == engines["postgres"].store.count("passages")


def test_reindex_replaces_the_vectors_that_changed(engines: dict[str, Engine]) -> None:
    """A new title weight changes every passage vector of the same model: pgvector takes the new ones
    as FAISS rebuilds with them (same scores on both), not only the passages it lacks."""
    scores = {}
    for name, engine in engines.items():
        heavier = engine.settings.model_copy(update={"passage_title_weight": 0.9})
        engine.close()
        reindexed = Engine(heavier)
        engines[name] = reindexed  # closed by the fixture
        reindexed.reindex()
        query = reindexed.embedder.encode(["harbour wall cost"])[0]
        scores[name] = reindexed.index.search(query, 5)
    assert [pk for pk, _ in scores["postgres"]] == [pk for pk, _ in scores["sqlite"]]
    np.testing.assert_allclose(
        [s for _, s in scores["postgres"]], [s for _, s in scores["sqlite"]], atol=1e-5
    )


def test_a_second_engine_on_the_database_answers_what_the_first_ingests(
    hash_settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    """Two processes on two machines: data dirs of their own, one database. The reader follows once
    the writer has saved its vectors' generation, as it follows FAISS's files on one machine."""
    settings = hash_settings.model_copy(update={"database_url": pg_url, "refresh_seconds": 0.0})
    writer = Engine(settings.model_copy(update={"data_dir": tmp_path / "writer"}))
    reader = Engine(settings.model_copy(update={"data_dir": tmp_path / "reader"}))
    try:
        writer.ingest_paths([SHARED[0]])
        question = "How many workers died in the Brackwater mill fire?"
        assert _first(reader.ask(question))[1] != "r-fire-toll"  # not ingested yet
        assert isinstance(reader.index, PgVectorIndex) and isinstance(writer.index, PgVectorIndex)
        before = reader.index.generation
        assert before == writer.store.generation()

        writer.ingest_paths([OWN])
        generation = writer.store.generation()
        with writer.store.transaction():  # a chunk committed whose vectors the writer has not saved yet
            unsaved = writer.store.bump_generation()
        reader.refresh()
        assert reader.index.generation == before  # not yet: the watches wait for it
        late = Engine(settings.model_copy(update={"data_dir": tmp_path / "late"}))
        try:
            late.ask(question)
            assert late.index.generation == generation  # what the writer saved, not the store's
        finally:
            late.close()
        writer.index.save(unsaved)
        reader.refresh()
        assert reader.index.generation == unsaved
        assert _first(reader.ask(question))[1:3] == ("r-fire-toll", None)
    finally:
        writer.close()
        reader.close()


@pytest.fixture
def two_machines(hash_settings: Settings, pg_url: str, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines as on two machines: data dirs of their own, one database."""
    settings = hash_settings.model_copy(update={"database_url": pg_url})
    first = Engine(settings.model_copy(update={"data_dir": tmp_path / "first"}))
    second = Engine(settings.model_copy(update={"data_dir": tmp_path / "second"}))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_engines_on_one_database_write_one_at_a_time(
    two_machines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their data dirs' file locks would not exclude each other: the database's lock does."""
    first, second = two_machines
    monkeypatch.setattr(locks, "WRITER_WAIT", 0.5)
    holder = re.escape(f"newsbot (pid {os.getpid()} on {socket.gethostname()})")
    with first.parts.locks.writer():  # as the first engine's ingest does
        began = time.monotonic()
        with pytest.raises(OperatorError, match=rf"{holder} is writing to the database at "):
            second.ingest_paths([OWN])
        assert time.monotonic() - began >= 0.5  # it waited for its turn first
        with pytest.raises(OperatorError, match="is writing to the database at"):
            second.forget("r-fire-toll")
    assert second.store.count("articles") == 0
    assert second.ingest_paths([OWN]).new == 8  # its turn, once the first has finished
    assert _first(first.ask("How many workers died in the Brackwater mill fire?"))[1] == "r-fire-toll"


def test_a_reindex_is_refused_while_another_engine_serves(two_machines: tuple[Engine, Engine]) -> None:
    first, second = two_machines
    second.ingest_paths([OWN])
    with first.serving(), pytest.raises(EngineError, match="stop it before re-embedding everything"):
        second.reindex()
    assert second.reindex() == second.store.count("sentences")  # the bot has stopped


def test_stats_and_messages_name_the_database_never_its_password(two_machines: tuple[Engine, Engine]) -> None:
    first, _ = two_machines
    first.ingest_paths([OWN])
    stats = first.stats()
    url = first.settings.database_url or ""
    assert stats["database"] == masked(url) and stats["database"] != url  # no password shown
    assert stats["index"]["file"] is None and stats["index"]["file_bytes"] == 0  # no FAISS files
    assert stats["index"]["faiss"]["table"] == "passage_vectors"
    first.store.set_setting("model", "another-model")
    first.parts.drop_index()
    with pytest.raises(OperatorError, match=rf"the data in the database at {re.escape(masked(url))} was"):
        _ = first.index


def test_sqlite_keeps_its_faiss_files(hash_engine: Engine, sample_dir: Path) -> None:
    hash_engine.ingest_paths([sample_dir])
    assert isinstance(hash_engine.index, PassageIndex)
    assert hash_engine.index.saved_generation == hash_engine.store.generation() == 1
    stats = hash_engine.stats()
    assert stats["database"] is None and stats["index"]["file"] == str(hash_engine.settings.faiss_path)
    assert stats["index"]["file_bytes"] > 0


def _analyzed(url: str) -> dict[str, object]:
    """When each table an ingest fills was last analysed by hand (None: never; autovacuum's own runs are
    counted apart)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)", [list(SETTLED)]
        ).fetchall()
    return dict(rows)


def test_a_bulk_load_refreshes_the_planners_statistics_and_a_small_ingest_does_not(
    hash_settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    engine = Engine(hash_settings.model_copy(update={"database_url": pg_url, "data_dir": tmp_path / "pg"}))
    try:
        assert set(_analyzed(pg_url).values()) == {None}
        engine.ingest_paths(SHARED)  # the first ingest: all of the database
        first = _analyzed(pg_url)
        assert set(first) == set(SETTLED) and None not in first.values()
        engine.ingest([ArticleIn("Late note", "The ferry ran late on Sunday.", id="late-note")])
        assert _analyzed(pg_url) == first  # one sentence more: autovacuum's to notice, not the ingest's
    finally:
        engine.close()
