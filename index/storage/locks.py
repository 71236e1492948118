"""Locks between processes sharing one store (`newsbot serve` beside `newsbot ingest`, or several bot
processes on several machines), with one story for both backends (`ProcessLocks`):

- `writer`: one writer at a time per store. An ingest, a forget, a feed poll or a reindex holds it
  while it writes; another process waits for it (up to `WRITER_WAIT` seconds) and is then told who
  holds it. Only the thread holding it writes the passage index files (`holds_writer`): anyone else
  that finds them stale rebuilds in memory, or, while a writer is busy (`writer_busy`), opens them as
  they are.
- `serving`: held shared by every running `newsbot serve`; `newsbot reindex`, which rewrites every
  vector under a running bot's feet, refuses while anyone holds it (`refuse_while_serving`).

A data dir's locks (`FileLocks`) are advisory file locks (flock) in it; a PostgreSQL store's
(`index.storage.postgres.locks.PgLocks`) are the database's own advisory locks, which every machine
using it shares. Either way the holder is the process, not the machine: a process that dies lets go
of its locks (the OS closes its files; the server ends its connection), so a crash never leaves a
store locked. `index.engine.parts.open_locks` chooses them with the store. Within a process the
engine's own locks order the threads (see `Engine`).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Protocol

from index.core.errors import EngineError, OperatorError

WRITER = "writer.lock"
SERVING = "serving.lock"
WRITER_WAIT = 30.0  # seconds a second writer waits for the first
_RETRY = 0.2  # seconds between two tries at a lock someone holds

_held = threading.local()  # .keys: the stores (data dirs, databases) whose writer lock the thread holds


class ProcessLocks(Protocol):
    """The locks between the processes sharing one store (see the module's docstring)."""

    where: str  # the store they guard, as messages name it: the data dir, or the database

    def writer(self) -> AbstractContextManager[None]:
        """Held while writing; an `OperatorError` naming the holder after `WRITER_WAIT` seconds."""
        ...

    def holds_writer(self) -> bool:
        """Whether the calling thread holds the writer lock: the one that may write the index files."""
        ...

    def writer_busy(self) -> bool:
        """Whether anyone (this process included) holds the writer lock now."""
        ...

    def serving(self) -> AbstractContextManager[None]:
        """Held (shared) while a bot serves from the store."""
        ...

    def refuse_while_serving(self, what: str) -> None:
        """An `EngineError` saying to stop the bot first, if a bot serves from the store."""
        ...


def writer_busy_error(holder: str, where: str) -> OperatorError:
    """What a writer that waited in vain is told, on either backend."""
    return OperatorError(
        f"{holder} is writing to {where}; newsbot writes one process at a time. "
        "Try again when it has finished."
    )


def serving_error(where: str, what: str) -> EngineError:
    """What `refuse_while_serving` says, on either backend."""
    return EngineError(f"`newsbot serve` is running on {where}: stop it before {what}, then start it again.")


def wait_for(take: Callable[[], bool]) -> bool:
    """Tries ``take`` (a lock's non-blocking take) until it succeeds, or `WRITER_WAIT` seconds have
    passed (False)."""
    deadline = time.monotonic() + WRITER_WAIT
    while not take():
        if time.monotonic() >= deadline:
            return False
        time.sleep(_RETRY)
    return True


@contextmanager
def held_by_thread(key: object) -> Iterator[None]:
    """Records that the calling thread holds the writer lock of the store ``key`` names."""
    keys = _held_keys()
    keys.add(key)
    try:
        yield
    finally:
        keys.discard(key)


def thread_holds(key: object) -> bool:
    return key in _held_keys()


def _held_keys() -> set[object]:
    if not hasattr(_held, "keys"):
        _held.keys = set()
    return _held.keys


class FileLocks:
    """A data dir's locks: flock on `WRITER` and `SERVING` in it, whose writer names itself inside."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.where = str(data_dir)

    @contextmanager
    def writer(self) -> Iterator[None]:
        with (self.data_dir / WRITER).open("a+") as handle:
            if not wait_for(lambda: _try_flock(handle, fcntl.LOCK_EX)):
                handle.seek(0)
                raise writer_busy_error(handle.read().strip() or "another process", self.where)
            handle.seek(0)
            handle.truncate()
            handle.write(f"newsbot (pid {os.getpid()})")
            handle.flush()
            try:
                with held_by_thread(self.data_dir.resolve()):
                    yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def holds_writer(self) -> bool:
        return thread_holds(self.data_dir.resolve())

    def writer_busy(self) -> bool:
        """Opens the lock file read-only, so a reader never creates it; when that fails, no writer is
        known to be busy."""
        try:
            fd = os.open(self.data_dir / WRITER, os.O_RDONLY)
        except OSError:
            return False
        try:
            return not _try_flock(fd, fcntl.LOCK_SH)
        finally:
            os.close(fd)  # also lets go of the shared lock, if taken

    @contextmanager
    def serving(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / SERVING).open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def refuse_while_serving(self, what: str) -> None:
        path = self.data_dir / SERVING
        if not path.exists():
            return
        with path.open("a+") as handle:
            if not _try_flock(handle, fcntl.LOCK_EX):
                raise serving_error(self.where, what)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _try_flock(file: int | IO[str], mode: int) -> bool:
    """Takes the flock ``mode`` on ``file`` (an open file or a descriptor) if no one else holds it."""
    try:
        fcntl.flock(file, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
