"""The engine at scale's consistency: the passage vectors follow the tables, processes and threads share
the data, on SQLite and FAISS files and on PostgreSQL (`backend_engine`) alike."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from index.core.errors import EngineError
from index.core.models import ArticleIn
from index.engine import Engine
from index.reading.ingest import IndexChange
from index.storage import locks
from tests.conftest import ROOT


def _story(n: int, word: str = "ferry") -> ArticleIn:
    return ArticleIn(f"Story {n}", f"The {word} number {n} sailed from Port Ellis on time.", id=f"s{n}")


def test_a_failed_commit_leaves_the_vectors_matching_the_tables(backend_engine, monkeypatch):
    backend_engine.ingest([_story(1)])
    before = backend_engine.index.count

    def fail() -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(backend_engine.store, "bump_generation", fail)
    with pytest.raises(RuntimeError):
        backend_engine.ingest([_story(2)])
    assert backend_engine.index.count == before == backend_engine.store.count("passages")


def test_a_crash_after_a_committed_chunk_is_found_at_the_next_start(backend_settings, monkeypatch):
    engine = Engine(backend_settings)
    engine.ingest([_story(1)])
    # The same article edited: the passage count stays, then the process dies once the tables have
    # committed, before the vectors followed (FAISS's files unsaved; pgvector's rows, committed as they
    # are written, not written) and before their generation was saved.
    monkeypatch.setattr(IndexChange, "apply", lambda self, index: None)
    monkeypatch.setattr(type(engine.index), "save", lambda self, generation=None: None)
    engine.ingest([ArticleIn("Story 1", "The lighthouse keeper retired after forty years.", id="s1")])
    engine.close()
    monkeypatch.undo()
    reopened = Engine(backend_settings)
    try:
        # Questions read the edited text at once: the tables are whole (keyword search finds it).
        assert reopened.search("lighthouse keeper retired")[0].sentence.startswith("The lighthouse keeper")
        if backend_settings.database_url is None:  # FAISS: every engine rebuilds at its start, in memory
            assert reopened.index.generation == reopened.store.generation()  # not taken as current
        # pgvector's table is shared: a reader leaves it to the next writer, which brings it up to date.
        reopened.ingest([_story(2)])
        assert reopened.index.generation == reopened.store.generation()
        assert reopened.index.count == reopened.store.count("passages") == 2
        edited = reopened.store.query(
            "SELECT p.pk FROM passages p JOIN articles a ON a.pk = p.article_pk WHERE a.id = 's1'"
        )[0]["pk"]
        query = reopened.embedder.encode(["The lighthouse keeper retired after forty years."])[0]
        assert reopened.index.search(query, 1)[0][0] == edited  # its vector, not the old text's
    finally:
        reopened.close()


def test_a_cli_ingest_beside_a_running_engine_is_seen_without_a_restart(backend_settings):
    engine = Engine(backend_settings)
    engine.ingest([_story(1)])
    assert engine.ask("lighthouse keeper retired").answers[0].sentence.startswith("The ferry")
    article = backend_settings.data_dir.parent / "keeper.txt"
    article.write_text("Keeper retires\n\nThe lighthouse keeper retired after forty years.\n")
    env = {**os.environ, "NEWSBOT_MODEL": "hash", "NEWSBOT_RERANK": "false", "HF_HUB_OFFLINE": "1"}
    if backend_settings.database_url:  # the same database, as a CLI on the bot's machine or another
        env["NEWSBOT_DATABASE_URL"] = backend_settings.database_url
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; raise SystemExit(main())",
            "ingest",
            "--data-dir",
            str(backend_settings.data_dir),
            str(article),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    engine.parts._next_refresh = 0.0  # the engine looks every few seconds; don't wait for it here
    assert engine.ask("lighthouse keeper retired").answers[0].sentence.startswith("The lighthouse keeper")
    engine.close()


def test_questions_in_parallel_with_an_ingest_stay_correct(backend_engine):
    backend_engine.ingest([_story(n) for n in range(50)])
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(20):
                best = backend_engine.ask("ferry number 7 sailed").answers[0].sentence
                assert best == "The ferry number 7 sailed from Port Ellis on time."
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for t in askers:
        t.start()
    backend_engine.ingest([_story(n, "bus") for n in range(50, 150)])
    for t in askers:
        t.join()
    assert errors == []
    assert backend_engine.index.count == backend_engine.store.count("passages")


# The data dir's flock files themselves: PostgreSQL's advisory locks have their own test of the same
# (tests/index/test_engine_postgres.py: engines on one database write one at a time, and no reindex
# while another serves).
def test_one_writer_at_a_time_and_no_reindex_under_a_running_bot(hash_engine, monkeypatch):
    hash_engine.ingest([_story(1)])
    monkeypatch.setattr(locks, "WRITER_WAIT", 0.3)
    dir_locks = locks.FileLocks(hash_engine.settings.data_dir)  # as another process's
    with dir_locks.writer(), pytest.raises(EngineError, match="is writing to"):
        hash_engine.ingest([_story(2)])
    with dir_locks.serving(), pytest.raises(EngineError, match="stop it before"):
        hash_engine.reindex()
    assert hash_engine.reindex() == 1
