"""Locks between processes sharing a data dir (`FileLocks`): one writer at a time, and readers that
never write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.errors import EngineError, OperatorError
from index.storage import locks
from index.storage.locks import FileLocks

# Holds the writer lock until its stdin closes, saying so once it holds it.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from index.storage.locks import FileLocks

    with FileLocks(Path(sys.argv[1])).writer():
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
    dir_locks = FileLocks(tmp_path)
    assert dir_locks.writer_busy()
    busy = rf"newsbot \(pid {held_elsewhere.pid}\) is writing to {tmp_path}"
    with pytest.raises(OperatorError, match=busy), dir_locks.writer():
        pass
    held_elsewhere.communicate("", timeout=30)  # the other writer finishes
    assert not dir_locks.writer_busy()
    with dir_locks.writer():
        assert dir_locks.holds_writer() and dir_locks.writer_busy()
        assert FileLocks(tmp_path / ".." / tmp_path.name).holds_writer()  # the same dir, however named
        assert not FileLocks(tmp_path / "other").holds_writer()
    assert not dir_locks.holds_writer()


def test_readers_never_create_the_lock_files(tmp_path: Path) -> None:
    dir_locks = FileLocks(tmp_path)
    assert not dir_locks.writer_busy()
    assert not dir_locks.holds_writer()
    dir_locks.refuse_while_serving("reindexing")
    assert list(tmp_path.iterdir()) == []


def test_a_reindex_is_refused_while_a_bot_serves(tmp_path: Path) -> None:
    serving = rf"`newsbot serve` is running on {tmp_path}: stop it before reindexing"
    with FileLocks(tmp_path).serving(), pytest.raises(EngineError, match=serving):
        FileLocks(tmp_path).refuse_while_serving("reindexing")
    FileLocks(tmp_path).refuse_while_serving("reindexing")
