"""Watches: each new article checked once per watch, in the watch's scope only, firing when the engine
answers the query from the new articles closely enough; and the rate limits of the bot's posts."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.errors import EngineError
from index.core.settings import Settings
from index.engine import Engine
from index.features.watch import NewArticles, Watch, Watches
from index.search.rerank import CrossEncoderReranker
from index.storage.embed import SentenceTransformerEmbedder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "watch"
NEW = {
    article["id"]: article
    for article in map(json.loads, (FIXTURES / "new.jsonl").read_text(encoding="utf-8").splitlines())
}
A, B = "111", "222"  # two Discord servers' scopes


@pytest.fixture(scope="module")
def old_data(tmp_path_factory: pytest.TempPathFactory, model: SentenceTransformerEmbedder) -> Path:
    """The harbour stories, embedded once for the module."""
    data = tmp_path_factory.mktemp("watch") / "data"
    engine = Engine(Settings(data_dir=data, _env_file=None), embedder=model)
    engine.ingest_paths([FIXTURES / "old.jsonl"])
    engine.close()
    return data


@pytest.fixture
def engine(
    old_data: Path, tmp_path: Path, model: SentenceTransformerEmbedder, reranker: CrossEncoderReranker
) -> Iterator[Engine]:
    shutil.copytree(old_data, tmp_path / "data")
    engine = Engine(Settings(data_dir=tmp_path / "data", _env_file=None), embedder=model, reranker=reranker)
    yield engine
    engine.close()


def ingest(engine: Engine, folder: Path, *ids: str, scope: str | None = None) -> None:
    path = folder / f"{'-'.join(ids)}.jsonl"
    path.write_text("".join(json.dumps(NEW[i]) + "\n" for i in ids), encoding="utf-8")
    assert engine.ingest_paths([path], scope=scope).new == len(ids)


def again(watches: Watches, watch: Watch) -> Watch:
    """The watch as stored now (its watermark moves as it is checked)."""
    return next(w for w in watches.list(watch.scope) if w.id == watch.id)


def test_a_watch_fires_once_for_a_new_matching_article(engine: Engine, tmp_path: Path) -> None:
    watches = Watches(engine)
    watch = watches.add("ferry strike")
    ingest(engine, tmp_path, "library")
    assert watches.check(watch) is None  # unrelated
    watch = again(watches, watch)

    ingest(engine, tmp_path, "strike_ends", "fish")
    match = watches.check(watch)
    assert match is not None and match.answer.article.id == "strike_ends"
    assert "returned to work" in match.answer.sentence
    assert match.watch.last_pk == again(watches, watch).last_pk > watch.last_pk
    assert watches.check(watch) is None  # another check of the same articles (a second checker) takes none
    assert watches.check(again(watches, watch)) is None  # nothing new


def test_articles_stored_before_the_watch_never_fire(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, tmp_path, "strike_ends")
    watches = Watches(engine)
    assert watches.check(watches.add("ferry strike")) is None


def test_an_answer_short_of_the_margin_does_not_fire(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watches = Watches(engine)
    watch = watches.add("new pier")
    ingest(engine, tmp_path, "strike_ends")  # mentions the harbour's ferries, not the pier
    newest = again(watches, watch).last_pk + 1
    barely = engine.ask("new pier", None, NewArticles(after=watch.last_pk, upto=newest))
    assert not watches.matches(barely)  # answered or not, it is short of the margin
    assert barely.confidence < engine.min_answer_score + engine.settings.watch_margin
    assert watches.check(watch) is None
    assert barely.answers  # a quote, short of the margin the settings hold: any quote with none
    monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"watch_margin": -math.inf}))
    assert watches.matches(barely)


def test_a_watch_sees_only_what_its_scope_sees(engine: Engine, tmp_path: Path) -> None:
    watches = Watches(engine)
    in_a, in_b = (watches.add("ferry strike", scope=s, channel=int(s)) for s in (A, B))
    ingest(engine, tmp_path, "strike_ends", scope=B)  # B's private upload
    assert watches.check(in_a) is None
    match = watches.check(in_b)
    assert match is not None and match.answer.article.scope == B

    storm = watches.add("storm warnings", scope=A, channel=1)
    ingest(engine, tmp_path, "storm")  # shared news: every server sees it
    match = watches.check(storm)
    assert match is not None and match.answer.article.id == "storm"


def test_watches_are_listed_and_removed_within_their_scope(hash_engine: Engine) -> None:
    watches = Watches(hash_engine)
    shared = watches.add("  ferry   strike ")
    mine = watches.add("ferry strike", scope=A, channel=7)
    assert shared.query == "ferry strike" and [w.id for w in watches.list()] == [shared.id]
    assert watches.list(A) == [mine] and watches.list(B) == []
    assert watches.remove(mine.id, B) is None and watches.remove(mine.id) is None
    assert watches.remove(mine.id, A) == mine and watches.list(A) == []


def test_a_watch_is_refused_when_empty_twice_or_past_the_limit(hash_engine: Engine) -> None:
    watches = Watches(hash_engine)
    with pytest.raises(EngineError, match="say what to watch for"):
        watches.add("   ")
    with pytest.raises(EngineError, match="at most 1000 characters"):
        watches.add("x" * 1001)
    watches.add("Ferry strike", scope=A, channel=1, limit=2)
    with pytest.raises(EngineError, match="already watched here"):
        watches.add("ferry  STRIKE", scope=A, channel=1, limit=2)
    watches.add("ferry strike", scope=A, channel=2, limit=2)  # another channel's
    with pytest.raises(EngineError, match="there are 2 watches here, the most there may be"):
        watches.add("harbour seals", scope=A, channel=3, limit=2)


def test_due_keeps_each_watch_and_each_channel_within_their_limits(
    hash_engine: Engine, tmp_path: Path
) -> None:
    watches = Watches(hash_engine)
    a, b, c = (watches.add(q, scope=A, channel=1) for q in ("one", "two", "three"))
    d = watches.add("four", scope=A, channel=2)
    watches.add("from the command line")  # no channel: never due for the bot
    assert watches.due(30, hourly=2, now=0.0) == []  # nothing new to check
    ingest(hash_engine, tmp_path, "library")

    now = 1_000_000.0
    assert watches.due(30, hourly=2, now=now) == [a, b, d]  # channel 1: two of its three
    watches.posted(a, now)
    watches.posted(b, now)
    assert watches.due(30, hourly=2, now=now + 60) == [d]  # channel 1 has had its two this hour
    assert watches.due(30, hourly=3, now=now + 60) == [c, d]  # a and b posted under 30 minutes ago
    assert watches.due(30, hourly=2, now=now + 31 * 60) == [d]  # the hour is not over
    assert watches.due(30, hourly=2, now=now + 61 * 60) == [c, d, a]  # longest since a post first


def test_making_watches_writes_nothing(hash_engine: Engine) -> None:
    """Their tables are the schema's, made when the store opened: a `Watches` made per command or bot
    event never waits for another process's write."""
    other = sqlite3.connect(hash_engine.settings.db_path)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of an ingest
    try:
        assert Watches(hash_engine).list() == []
    finally:
        other.rollback()
        other.close()
