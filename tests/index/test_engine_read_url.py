"""NEWSBOT_DATABASE_READ_URL: questions read a replica, everything else the primary. A second database
on the same server stands in for the replica, its news put there by an engine of its own (as
replication would: the same ingests, in the same order, so the same keys and generations)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import index.engine
from index.core.errors import EngineError
from index.core.settings import Settings
from index.engine import Engine
from index.features.watch import Watches
from index.storage.postgres import schema
from index.storage.postgres.store import PostgresStore
from tests.index.test_engine_postgres import OWN, SHARED

FERRY = "How big a pay rise did the Northway ferry crews accept?"  # SHARED[0]'s
FIRE = "How many workers died in the Brackwater mill fire?"  # OWN's


@pytest.fixture
def replica_url(pg_other_url: str) -> str:
    return pg_other_url


@pytest.fixture
def opened(hash_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """Engines on PostgreSQL (data dirs of their own), closed at the end."""
    engines: list[Engine] = []

    def open_engine(name: str, **update: object) -> Engine:
        settings = hash_settings.model_copy(update={"data_dir": tmp_path / name, "refresh_seconds": 0.0})
        engines.append(Engine(settings.model_copy(update=update)))
        return engines[-1]

    yield open_engine
    for engine in engines:
        engine.close()


def _counted(made: list[str], name: str, make: Callable[..., object]) -> Callable[..., object]:
    """``make``, noting ``name`` in ``made`` each time it makes something."""

    def counted(*args: object) -> object:
        made.append(name)
        return make(*args)

    return counted


def _first_id(engine: Engine, question: str) -> str | None:
    result = engine.ask(question)
    return result.answers[0].article.id if result.answers else None


def _ids(store: Any) -> set[str]:
    return {row["id"] for row in store.query("SELECT id FROM articles")}


def test_questions_read_the_replica_while_ingest_writes_the_primary(
    opened: Callable[..., Engine], pg_url: str, replica_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    replica = opened("replica", database_url=replica_url)
    for path in SHARED:  # two ingests: the replica is at another generation than the primary
        replica.ingest_paths([path])
    made: list[str] = []  # what the engine on both databases makes
    for factory in ("create_embedder", "create_reranker"):
        monkeypatch.setattr(index.engine, factory, _counted(made, factory, getattr(index.engine, factory)))
    engine = opened("primary", database_url=pg_url, database_read_url=replica_url)
    assert engine.ingest_paths([OWN]).new == 8

    assert _first_id(engine, FERRY) == "t-strike-off"  # only the replica has it
    assert _first_id(engine, FIRE) != "r-fire-toll"  # only the primary has it
    hits = engine.search("ferry strike pay", 3)
    assert len(hits) == 3 and {h.article.id for h in hits} <= _ids(replica.store)
    assert "r-fire-toll" in _ids(engine.store) and "t-strike-off" not in _ids(engine.store)
    assert "r-fire-toll" not in _ids(replica.store)  # the ingest wrote to the primary only
    assert engine.questions.generation == replica.store.generation() != engine.store.generation()
    # One model and one reranker for the primary's writes and the replica's questions.
    assert sorted(made) == ["create_embedder", "create_reranker"]
    assert engine.questions.parts.embedder is engine.parts.embedder
    assert engine.questions.parts.store is not engine.store

    # The replica catches up, and the question path follows its generation once its vectors are saved
    # (a chunk committed whose vectors are not saved yet is waited for, as on one database).
    before = engine.questions.generation
    replica.ingest_paths([OWN])
    with replica.store.transaction():
        unsaved = replica.store.bump_generation()
    engine.refresh()
    assert engine.questions.generation == before
    replica.index.save(unsaved)
    assert _first_id(engine, FIRE) == "r-fire-toll"
    assert engine.questions.generation == unsaved != engine.store.generation()


def test_a_watch_waits_for_the_replica_to_catch_up(
    opened: Callable[..., Engine], pg_url: str, replica_url: str
) -> None:
    """A watch checks the primary's new articles by asking the replica: it must not take them (move
    its watermark past them) before the replica has them, or it would never see them."""
    replica = opened("replica", database_url=replica_url)
    engine = opened("primary", database_url=pg_url, database_read_url=replica_url, watch_margin=-math.inf)
    for ingested in (replica, engine):
        ingested.ingest_paths([SHARED[0]])
    watches = Watches(engine)
    watch = watches.add("Brackwater mill fire")
    engine.ingest_paths([OWN])
    assert watches.check(watch) is None
    assert watches.list()[0].last_pk == watch.last_pk  # waiting: nothing taken

    replica.ingest_paths([OWN])
    match = watches.check(watch)
    assert match is not None and match.answer.article.id == "r-fire-toll"
    assert watches.list()[0].last_pk == engine.store.next_article_pk() - 1


def test_the_replica_is_never_migrated_nor_written(
    opened: Callable[..., Engine], pg_url: str, replica_url: str
) -> None:
    with pytest.raises(
        EngineError, match=r"has had 0 of newsbot's \d+ migrations.*NEWSBOT_DATABASE_READ_URL"
    ):
        PostgresStore(replica_url, read_only=True)
    with psycopg.connect(replica_url) as conn:
        assert schema.version(conn) == 0  # left as it was
    PostgresStore(replica_url).close()  # migrated, as the primary's replication would

    engine = opened("primary", database_url=pg_url, database_read_url=replica_url)
    engine.ingest_paths([OWN])
    # The replica has the tables but not yet the passage vectors': questions find nothing, and wait.
    result = engine.ask(FIRE)
    assert not result.answered and not result.answers
    with psycopg.connect(replica_url) as conn:
        assert conn.execute("SELECT to_regclass('passage_vectors')").fetchone() == (None,)
    store = engine.questions.parts.store
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        store.set_setting("generation", "7")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), store.transaction():
        store.bump_generation()


def test_the_read_url_is_checked_and_its_password_never_shown(
    opened: Callable[..., Engine],
    pg_url: str,
    replica_url: str,
    hash_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = replica_url.replace("postgres:@", "postgres:hunter2@")  # pgserver trusts local users
    assert secret != replica_url
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(EngineError) as unmigrated:
            opened("early", database_url=pg_url, database_read_url=secret)
        PostgresStore(replica_url).close()
        engine = opened("primary", database_url=pg_url, database_read_url=secret)
        engine.ingest_paths([OWN])
        engine.ask(FIRE)
    assert "postgres:***@" in str(unmigrated.value) and "hunter2" not in str(unmigrated.value)
    assert "(read-only)" in caplog.text and "postgres:***@" in caplog.text
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(engine.settings)
    without_primary = hash_settings.model_copy(update={"database_read_url": secret})
    with pytest.raises(EngineError, match="NEWSBOT_DATABASE_URL is not") as refused:
        Engine(without_primary)
    assert "hunter2" not in str(refused.value)
