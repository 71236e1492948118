"""The engine at scale's consistency: FAISS follows SQLite, processes and threads share a data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from index.core.errors import EngineError
from index.core.models import ArticleIn
from index.engine import Engine
from index.storage import locks
from tests.conftest import ROOT


def _story(n: int, word: str = "ferry") -> ArticleIn:
    return ArticleIn(f"Story {n}", f"The {word} number {n} sailed from Port Ellis on time.", id=f"s{n}")


def test_a_failed_commit_leaves_faiss_matching_sqlite(hash_engine, monkeypatch):
    hash_engine.ingest([_story(1)])
    before = hash_engine.index.count

    def fail() -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(hash_engine.store, "bump_generation", fail)
    with pytest.raises(RuntimeError):
        hash_engine.ingest([_story(2)])
    assert hash_engine.index.count == before == hash_engine.store.count("passages")


def test_a_crash_after_a_committed_chunk_is_found_at_the_next_start(hash_settings, monkeypatch):
    engine = Engine(hash_settings)
    engine.ingest([_story(1)])
    # The same article edited: the passage count stays, then the process dies before FAISS is saved.
    monkeypatch.setattr(type(engine.index), "save", lambda self, generation=None: None)
    engine.ingest([ArticleIn("Story 1", "The lighthouse keeper retired after forty years.", id="s1")])
    engine.close()
    monkeypatch.undo()
    reopened = Engine(hash_settings)
    assert reopened.index.generation == reopened.store.generation()  # rebuilt, not taken as current
    assert reopened.search("lighthouse keeper retired")[0].sentence.startswith("The lighthouse keeper")
    reopened.close()


def test_a_cli_ingest_beside_a_running_engine_is_seen_without_a_restart(hash_settings, monkeypatch):
    engine = Engine(hash_settings)
    engine.ingest([_story(1)])
    assert engine.ask("lighthouse keeper retired").answers[0].sentence.startswith("The ferry")
    article = hash_settings.data_dir.parent / "keeper.txt"
    article.write_text("Keeper retires\n\nThe lighthouse keeper retired after forty years.\n")
    env = {**os.environ, "NEWSBOT_MODEL": "hash", "NEWSBOT_RERANK": "false", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; raise SystemExit(main())",
            "ingest",
            "--data-dir",
            str(hash_settings.data_dir),
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


def test_questions_in_parallel_with_an_ingest_stay_correct(hash_engine):
    hash_engine.ingest([_story(n) for n in range(50)])
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(20):
                best = hash_engine.ask("ferry number 7 sailed").answers[0].sentence
                assert best == "The ferry number 7 sailed from Port Ellis on time."
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for t in askers:
        t.start()
    hash_engine.ingest([_story(n, "bus") for n in range(50, 150)])
    for t in askers:
        t.join()
    assert errors == []
    assert hash_engine.index.count == hash_engine.store.count("passages")


def test_one_writer_at_a_time_and_no_reindex_under_a_running_bot(hash_engine, monkeypatch):
    hash_engine.ingest([_story(1)])
    monkeypatch.setattr(locks, "WRITER_WAIT", 0.3)
    dir_locks = locks.FileLocks(hash_engine.settings.data_dir)  # as another process's
    with dir_locks.writer(), pytest.raises(EngineError, match="is writing to"):
        hash_engine.ingest([_story(2)])
    with dir_locks.serving(), pytest.raises(EngineError, match="stop it before"):
        hash_engine.reindex()
    assert hash_engine.reindex() == 1
