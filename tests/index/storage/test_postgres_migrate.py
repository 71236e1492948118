"""`migrate_to_postgres`: a data dir copied into an empty PostgreSQL database answers as the data dir
does, a killed copy goes on where it stopped, and a database holding other news is refused."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from index.core.errors import EngineError
from index.core.settings import Settings
from index.engine import Engine
from index.engine.migration import migrate_to_postgres
from index.storage.postgres import migrate
from index.storage.postgres.schema import ROW_KEYS
from index.storage.schema import TABLES
from index.storage.store import Filters

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SHARED = [FIXTURES / "time" / "articles.jsonl", Path(__file__).resolve().parents[3] / "examples" / "news"]
OWN = FIXTURES / "running" / "articles.jsonl"
SERVER = "42"
QUESTIONS: list[tuple[str, Filters]] = [
    ("How big a pay rise did the Northway ferry crews accept?", Filters()),
    ("What did North Korea fire on Friday?", Filters()),
    ("How much will rebuilding the harbour wall cost?", Filters(since="2024-01-01")),
    ("How many workers died in the Brackwater mill fire?", Filters(scope=SERVER)),
    ("When will the Dunmore library open on Sundays?", Filters(scope=SERVER)),
]
# A row in each table ingest leaves empty: every table is copied, keys and all.
OTHER_ROWS = (
    "INSERT INTO feeds (url, added_at, claimed_by, claimed_until) "
    "VALUES ('https://a.example/rss', '2024-05-01', 'bot pid 7', 9.5)",
    "INSERT INTO feed_subscriptions (feed_url, scope, name, added_at) "
    "VALUES ('https://a.example/rss', '42', 'A', '2024-05-01')",
    "INSERT INTO feed_items (feed_url, scope, guid, link) VALUES ('https://a.example/rss', '42', 'g1', NULL)",
    "INSERT INTO feed_items (feed_url, scope, guid, link) VALUES ('https://a.example/rss', '42', 'g2', NULL)",
    "INSERT INTO feed_item_failures (feed_url, guid, first_failed_at) "
    "VALUES ('https://a.example/rss', 'g3', 'x')",
    "INSERT INTO feedback (question, article_id, sentence, vote, user_hash, voted_at) "
    "VALUES ('q1', 't-library', 's', 1, 'u1', '2024-05-01')",
    "INSERT INTO feedback (question, article_id, sentence, vote, user_hash, voted_at) "
    "VALUES ('q2', 't-library', 's', -1, 'u2', '2024-05-01')",
    "INSERT INTO saved_questions (key, text, saved_at) VALUES ('k1', 'who?', 1.5)",
    "INSERT INTO watches (query, scope, channel, created_at, last_pk, claimed_by, claimed_until) "
    "VALUES ('ferry', '42', 7, 'x', 3, 'bot pid 8', 10.5)",
    "INSERT INTO watch_posts (channel, posted_at) VALUES (7, 2.5)",
)


def _first(engine: Engine, question: str, filters: Filters) -> tuple[bool, str | None, str | None]:
    result = engine.ask(question, None, filters)
    best = result.answers[0] if result.answers else None
    return result.answered, best and best.article.id, best and best.sentence


@pytest.fixture
def data_dir(hash_settings: Settings) -> Settings:
    """A hash-model data dir: shared news (with a wire copy), server 42's own, a row in every table."""
    engine = Engine(hash_settings)
    try:
        engine.ingest_paths(SHARED)
        engine.ingest_paths([OWN], scope=SERVER)
        with engine.store.transaction():
            for statement in OTHER_ROWS:
                engine.store.execute(statement)
        assert all(engine.store.count(table) for table in TABLES), "every table holds a row"
    finally:
        engine.close()
    return hash_settings


def _on_postgres(settings: Settings, url: str, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"database_url": url, "data_dir": tmp_path / "pg-data"})


def _terms(url: str) -> list[tuple[Any, ...]]:
    """The term counts, and the sentences' postings by what they say (not by pk)."""
    with psycopg.connect(url) as conn:
        return [
            *conn.execute("SELECT * FROM text_search_terms ORDER BY source, lexeme"),
            *conn.execute(
                "SELECT p.lexeme, a.id, s.idx, p.scope, p.tf, p.len FROM sentence_postings p "
                "JOIN sentences s ON s.pk = p.sentence_pk JOIN articles a ON a.pk = p.article_pk "
                "ORDER BY 1, 2, 3"
            ),
        ]


@pytest.fixture
def fresh_url(pg_server: Any) -> Iterator[str]:
    """A second empty database, for a fresh ingest to compare a copy with."""
    name = f"fresh_{os.getpid()}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(pg_server.get_uri(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    yield pg_server.get_uri(name)
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_migrated_database_answers_as_the_data_dir(
    data_dir: Settings, pg_url: str, fresh_url: str, tmp_path: Path
) -> None:
    report = migrate_to_postgres(data_dir, pg_url)
    assert report.differing == [] and len(report.counts) == len(TABLES) + 1
    assert all(c.target > 0 for c in report.counts)
    sqlite, postgres = Engine(data_dir), Engine(_on_postgres(data_dir, pg_url, tmp_path))
    fresh = Engine(_on_postgres(data_dir, fresh_url, tmp_path / "fresh"))
    try:
        assert [_first(postgres, *q) for q in QUESTIONS] == [_first(sqlite, *q) for q in QUESTIONS]
        assert _first(postgres, *QUESTIONS[0])[1] == "t-strike-off"
        assert postgres.index.count == sqlite.store.count("passages")
        for table in ("feeds", "watches"):  # every column, those added since PostgreSQL's first too
            claims = f"SELECT claimed_by, claimed_until FROM {table}"
            assert postgres.store.query(claims) == sqlite.store.query(claims) != []
        # The term counts and postings the triggers kept are those a fresh ingest of the same news makes.
        fresh.ingest_paths(SHARED)
        fresh.ingest_paths([OWN], scope=SERVER)
        assert _terms(pg_url) == _terms(fresh_url) != []
        # Identity columns go on past the copied keys: new rows get new pks, nothing collides.
        extra = tmp_path / "extra.txt"
        extra.write_text("Tram fares rise\n\nTram fares in Dunmore rise by ten pence from Monday.\n")
        assert postgres.ingest_paths([extra]).new == 1
        postgres.store.execute(
            "INSERT INTO feedback (question, article_id, sentence, vote, user_hash, voted_at) "
            "VALUES ('q3', 'x', 's', 1, 'u3', 'now')"
        )
        assert postgres.store.count("feedback") == 3
        assert _first(postgres, "How much will tram fares rise?", Filters())[1] is not None
    finally:
        for engine in (sqlite, postgres, fresh):
            engine.close()


def test_a_killed_copy_goes_on_from_where_it_stopped(
    data_dir: Settings, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "BATCH_ROWS", 7)
    store = Engine(data_dir).store
    try:  # a wire copy judged again may copy a story stored after it: a key not yet copied
        with store.transaction():
            store.execute("UPDATE articles SET copy_of = (SELECT max(pk) FROM articles) WHERE pk = 1")
        sizes = {t: store.count(t) for t in ROW_KEYS}
        copies = store.query("SELECT pk, copy_of FROM articles ORDER BY pk")
    finally:
        store.close()
    copy_rows, batches = migrate._copy_rows, []

    def dies_after_four(*args: Any) -> None:
        if len(batches) == 4:
            raise RuntimeError("killed")
        batches.append(args[1])
        copy_rows(*args)

    monkeypatch.setattr(migrate, "_copy_rows", dies_after_four)
    with pytest.raises(RuntimeError, match="killed"):
        migrate_to_postgres(data_dir, pg_url)
    assert batches == ["articles"] * math.ceil(sizes["articles"] / 7) + ["sentences"] * (
        4 - math.ceil(sizes["articles"] / 7)
    )

    resumed: list[str] = []
    monkeypatch.setattr(migrate, "_copy_rows", lambda *args: (resumed.append(args[1]), copy_rows(*args)))
    report = migrate_to_postgres(data_dir, pg_url)
    assert report.differing == []
    # Only what the killed run had not committed is copied again.
    assert len(resumed) == sum(math.ceil(n / 7) for n in sizes.values()) - 4
    assert "articles" not in resumed
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT pk, copy_of FROM articles ORDER BY pk").fetchall() == [
            (r["pk"], r["copy_of"]) for r in copies
        ]
        assert copies[0]["copy_of"] == copies[-1]["pk"]
    # A finished copy, run again, copies nothing more and still counts equal.
    resumed.clear()
    assert migrate_to_postgres(data_dir, pg_url).differing == [] and resumed == []


def test_a_database_holding_other_news_is_refused(
    data_dir: Settings, hash_settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    other = Engine(_on_postgres(hash_settings, pg_url, tmp_path))
    try:
        other.ingest_paths([OWN])
    finally:
        other.close()
    with pytest.raises(EngineError, match=r"is not empty \(it holds 8 articles.*DROP DATABASE"):
        migrate_to_postgres(data_dir, pg_url)


def test_a_copy_of_another_data_dir_is_refused(data_dir: Settings, pg_url: str, tmp_path: Path) -> None:
    other = data_dir.model_copy(update={"data_dir": tmp_path / "other"})
    engine = Engine(other)
    try:
        engine.ingest_paths([OWN])
    finally:
        engine.close()
    assert migrate_to_postgres(other, pg_url).differing == []
    with pytest.raises(EngineError, match="holds a copy of another data dir"):
        migrate_to_postgres(data_dir, pg_url)


def test_a_newer_schema_and_a_missing_data_dir_are_refused(
    data_dir: Settings, pg_url: str, tmp_path: Path
) -> None:
    with pytest.raises(EngineError, match="no data dir at"):
        migrate_to_postgres(data_dir.model_copy(update={"data_dir": tmp_path / "nowhere"}), pg_url)
    Engine(_on_postgres(data_dir, pg_url, tmp_path)).close()  # today's schema
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version) VALUES (99)")
    with pytest.raises(EngineError, match="made by a newer newsbot"):
        migrate_to_postgres(data_dir, pg_url)
