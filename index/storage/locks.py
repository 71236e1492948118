"""Locks between processes sharing one data dir (`newsbot serve` beside `newsbot ingest`).

- `writer`: one writer at a time per data dir. An ingest, a feed poll or a reindex holds it while it
  writes; another process waits for it (up to `wait` seconds) and is then told who holds it. Only
  the thread holding it writes the passage index files (`holds_writer`): anyone else that finds them
  stale rebuilds in memory, or, while a writer is busy (`writer_busy`), opens them as they are.
- `serving`: held shared by every running `newsbot serve`; `newsbot reindex`, which rewrites every
  vector under a running bot's feet, refuses while anyone holds it.

Within a process the engine's own locks order the threads (see `Engine`); these are advisory file
locks (flock), released by the OS when a process dies, so a crash never leaves a data dir locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.core.errors import EngineError, OperatorError

WRITER = "writer.lock"
SERVING = "serving.lock"
WRITER_WAIT = 30.0  # seconds a second writer waits for the first

_held = threading.local()  # .dirs: the data dirs whose writer lock the thread holds


@contextmanager
def writer(data_dir: Path) -> Iterator[None]:
    path = data_dir / WRITER
    with path.open("a+") as handle:
        deadline = time.monotonic() + WRITER_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise OperatorError(
                        f"{holder} is writing to {data_dir}; newsbot writes one process at a time. "
                        "Try again when it has finished."
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"newsbot (pid {os.getpid()})")
        handle.flush()
        held = _held_dirs()
        held.add(data_dir.resolve())
        try:
            yield
        finally:
            held.discard(data_dir.resolve())
            fcntl.flock(handle, fcntl.LOCK_UN)


def holds_writer(data_dir: Path) -> bool:
    """Whether the calling thread holds `data_dir`'s writer lock: the one that may write its files."""
    return data_dir.resolve() in _held_dirs()


def writer_busy(data_dir: Path) -> bool:
    """Whether anyone (this process included) holds `data_dir`'s writer lock now. Opens the lock file
    read-only, so a reader never creates it; when that fails, no writer is known to be busy."""
    try:
        fd = os.open(data_dir / WRITER, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also lets go of the shared lock, if taken
    return False


def _held_dirs() -> set[Path]:
    if not hasattr(_held, "dirs"):
        _held.dirs = set()
    return _held.dirs


@contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """Held while a bot serves from `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / SERVING).open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refuse_while_serving(data_dir: Path, what: str) -> None:
    """An `EngineError` saying to stop the bot first, if a bot serves from `data_dir`."""
    path = data_dir / SERVING
    if not path.exists():
        return
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EngineError(
                f"`newsbot serve` is running on {data_dir}: stop it before {what}, then start it again."
            ) from None
        fcntl.flock(handle, fcntl.LOCK_UN)
