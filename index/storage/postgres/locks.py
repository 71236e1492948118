"""The locks between processes (`index.storage.locks`) for a PostgreSQL store: the database's own
session-level advisory locks, so that processes on every machine sharing the database exclude each
other as processes sharing a data dir do.

Each held lock has a connection of its own for as long as it is held, named (``application_name``)
after the process and machine holding it, so that whoever waits in vain is told who holds it
(`pg_locks` joined with `pg_stat_activity`). A lock let go of is unlocked before its connection closes
(`_unlock`): the server ends a closed session's locks only as its backend exits, after the client has
gone on, so a check made right after could still find one held. Otherwise the lock ends with its
connection: when the process dies, the server closes the session and lets go of it; a machine that
vanishes without closing is found out by TCP keepalives within about a minute (`_KEEPALIVES`).
Should the connection break while a lock is held (the server restarts), the lock is lost with it; the
writes themselves are still one transaction at a time (`store.WRITE_LOCK`). The checks
(`writer_busy`, `refuse_while_serving`) use a short connection each.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, LiteralString

import psycopg

from index.core.errors import EngineError
from index.storage.locks import held_by_thread, serving_error, thread_holds, wait_for, writer_busy_error
from index.storage.postgres.store import CONNECT_SECONDS
from index.storage.postgres.urls import masked

# Advisory lock keys, beside `schema.MIGRATION_LOCK`, `store.WRITE_LOCK` and `vectors.DDL_LOCK`.
WRITER_LOCK = 0x6E657773_0004  # session-level, exclusive: one writing process at a time
SERVING_LOCK = 0x6E657773_0005  # session-level, shared by every `newsbot serve`
# The server's keepalives on a lock's connection: a holder silent for 30 s is probed every 10 s and
# dropped after 3 unanswered probes. (A connection over a Unix socket ignores them.)
_KEEPALIVES = "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3"
# Who holds a key (its two 32-bit halves; objsubid 1 marks a bigint key): what each session holding it
# calls itself, and where it connects from.
_HOLDERS = """
SELECT a.application_name AS name, host(a.client_addr) AS addr, a.pid
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = %s AND l.objid::bigint = %s
ORDER BY a.backend_start
"""


class PgLocks:
    """The locks of the processes sharing the database at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = f"the database at {masked(url)}"

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of its own, named after this process and its machine."""
        name = f"newsbot (pid {os.getpid()} on {socket.gethostname()})"[:63]  # PostgreSQL keeps 63 bytes
        try:
            conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_SECONDS, application_name=name
            )
        except psycopg.OperationalError as exc:
            raise EngineError(
                f"cannot lock {self.where} ({' '.join(str(exc).split())}): check NEWSBOT_DATABASE_URL "
                "and that the server runs"
            ) from exc
        with conn:
            yield conn

    @contextmanager
    def _holding(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection to hold a lock on for as long as the lock is held."""
        with self._connect() as conn:
            conn.execute(_KEEPALIVES)
            yield conn

    @contextmanager
    def writer(self) -> Iterator[None]:
        with self._holding() as conn:
            if not wait_for(lambda: _try_lock(conn, WRITER_LOCK)):
                raise writer_busy_error(_holders(conn, WRITER_LOCK) or "another process", self.where)
            with _unlock(conn, "SELECT pg_advisory_unlock(%s)", WRITER_LOCK), held_by_thread(self.url):
                yield

    def holds_writer(self) -> bool:
        return thread_holds(self.url)

    def writer_busy(self) -> bool:
        with self._connect() as conn:
            return bool(_holders(conn, WRITER_LOCK))

    @contextmanager
    def serving(self) -> Iterator[None]:
        with self._holding() as conn:
            conn.execute("SELECT pg_advisory_lock_shared(%s)", [SERVING_LOCK])
            with _unlock(conn, "SELECT pg_advisory_unlock_shared(%s)", SERVING_LOCK):
                yield

    def refuse_while_serving(self, what: str) -> None:
        with self._connect() as conn:
            if not _try_lock(conn, SERVING_LOCK):
                serving = _holders(conn, SERVING_LOCK)
                raise serving_error(f"{self.where} ({serving})" if serving else self.where, what)
            conn.execute("SELECT pg_advisory_unlock(%s)", [SERVING_LOCK])  # only a check: see _unlock


@contextmanager
def _unlock(conn: psycopg.Connection[Any], query: LiteralString, key: int) -> Iterator[None]:
    """Unlock ``key`` on leaving, before the connection closes (see the module's docstring); a
    connection already broken has lost the lock with it."""
    try:
        yield
    finally:
        with suppress(psycopg.Error):
            conn.execute(query, [key])


def _try_lock(conn: psycopg.Connection[Any], key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
    return bool(row and row[0])


def _holders(conn: psycopg.Connection[Any], key: int) -> str:
    """The other sessions holding ``key``, as they call themselves ("" when none does)."""
    rows = conn.execute(_HOLDERS, [key >> 32, key & 0xFFFFFFFF]).fetchall()
    return "; ".join(
        (name or f"PostgreSQL session {pid}") + (f" from {addr}" if addr else "") for name, addr, pid in rows
    )
