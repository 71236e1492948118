"""Locks between processes sharing a data dir: one writer at a time, and readers that never write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.errors import EngineError, OperatorError
from index.storage import locks

# Holds the writer lock until its stdin closes, saying so once it holds it.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from index.storage.locks import writer

    with writer(Path(sys.argv[1])):
        print("held", flush=True)
        sys.stdin.read()
    """
)


@pytest.fixture
def held_elsewhere(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding `tmp_path`'s writer lock."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.communicate("", timeout=30)


def test_a_second_writer_waits_and_is_then_told_who_writes(
    tmp_path: Path, held_elsewhere: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locks, "WRITER_WAIT", 0.5)
    assert locks.writer_busy(tmp_path)
    busy = rf"newsbot \(pid {held_elsewhere.pid}\) is writing to"
    with pytest.raises(OperatorError, match=busy), locks.writer(tmp_path):
        pass
    held_elsewhere.communicate("", timeout=30)  # the other writer finishes
    assert not locks.writer_busy(tmp_path)
    with locks.writer(tmp_path):
        assert locks.holds_writer(tmp_path) and locks.writer_busy(tmp_path)
    assert not locks.holds_writer(tmp_path)


def test_readers_never_create_the_lock_files(tmp_path: Path) -> None:
    assert not locks.writer_busy(tmp_path)
    assert not locks.holds_writer(tmp_path)
    locks.refuse_while_serving(tmp_path, "reindexing")
    assert list(tmp_path.iterdir()) == []


def test_a_reindex_is_refused_while_a_bot_serves(tmp_path: Path) -> None:
    with locks.serving(tmp_path), pytest.raises(EngineError, match="stop it before reindexing"):
        locks.refuse_while_serving(tmp_path, "reindexing")
    locks.refuse_while_serving(tmp_path, "reindexing")
