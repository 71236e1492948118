"""The locks between processes on a PostgreSQL store (`PgLocks`): the database's advisory locks, so that
processes with data dirs of their own (on machines of their own) exclude each other as processes on
one data dir do, and a process that dies lets go of them."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from index.core.errors import EngineError, OperatorError
from index.storage import locks
from index.storage.postgres.locks import PgLocks
from index.storage.postgres.urls import masked

# Holds PgLocks(argv[1]).<argv[2]>() until its stdin closes, saying so once it holds it.
HOLDER = textwrap.dedent(
    """
    import sys
    from index.storage.postgres.locks import PgLocks

    with getattr(PgLocks(sys.argv[1]), sys.argv[2])():
        print("held", flush=True)
        sys.stdin.read()
    """
)

Hold = Callable[[str], subprocess.Popen[str]]


@pytest.fixture
def hold(pg_url: str) -> Iterator[Hold]:
    """Starts another process holding the database's ``writer`` or ``serving`` lock."""
    started: list[subprocess.Popen[str]] = []

    def start(which: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, pg_url, which],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.communicate("", timeout=60)


def _named(process: subprocess.Popen[str]) -> str:
    """How a holder is named: its pid and machine, as its connection calls itself."""
    return re.escape(f"newsbot (pid {process.pid} on {socket.gethostname()})")


def test_a_second_writer_waits_is_told_who_writes_and_gets_the_lock_once_it_is_free(
    pg_url: str, hold: Hold, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder, db_locks = hold("writer"), PgLocks(pg_url)
    assert db_locks.writer_busy() and not db_locks.holds_writer()
    monkeypatch.setattr(locks, "WRITER_WAIT", 0.5)
    began = time.monotonic()
    told = rf"{_named(holder)} is writing to the database at {re.escape(masked(pg_url))}; newsbot writes one"
    with pytest.raises(OperatorError, match=told), db_locks.writer():
        pass
    assert time.monotonic() - began >= 0.5  # it waited before giving up

    monkeypatch.setattr(locks, "WRITER_WAIT", 120.0)
    got = threading.Event()

    def write() -> None:
        with db_locks.writer():
            got.set()

    waiting = threading.Thread(target=write)
    waiting.start()
    assert not got.wait(1.0)  # still waiting for the holder
    holder.communicate("", timeout=60)  # the other writer finishes
    waiting.join(timeout=120)
    assert got.is_set() and not db_locks.writer_busy()


def test_only_the_thread_holding_the_writer_lock_holds_it(pg_url: str) -> None:
    db_locks, seen = PgLocks(pg_url), {}
    with db_locks.writer():
        assert db_locks.holds_writer() and PgLocks(pg_url).holds_writer()  # the same database's
        other = threading.Thread(
            target=lambda: seen.update(holds=db_locks.holds_writer(), busy=db_locks.writer_busy())
        )
        other.start()
        other.join(timeout=60)
    assert seen == {"holds": False, "busy": True}
    assert not db_locks.holds_writer() and not db_locks.writer_busy()


def test_a_reindex_is_refused_while_any_bot_serves_and_serving_leaves_writes_alone(
    pg_url: str, hold: Hold
) -> None:
    elsewhere, db_locks = hold("serving"), PgLocks(pg_url)
    with db_locks.serving():  # shared: a second bot serves beside the first
        with db_locks.writer():  # a bot writes (feed polls) while it serves
            pass
        serving = rf"`newsbot serve` is running on the database at .*{_named(elsewhere)}.*: stop it before"
        with pytest.raises(EngineError, match=serving):
            db_locks.refuse_while_serving("reindexing")
    with pytest.raises(EngineError, match="stop it before reindexing"):
        db_locks.refuse_while_serving("reindexing")  # the other bot still serves
    elsewhere.communicate("", timeout=60)
    db_locks.refuse_while_serving("reindexing")


def test_a_process_that_dies_lets_go_of_its_locks(pg_url: str, hold: Hold) -> None:
    holders = [hold("writer"), hold("serving")]
    for process in holders:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    db_locks = PgLocks(pg_url)
    with db_locks.writer():  # waits (up to WRITER_WAIT) for the server to end the dead sessions
        assert db_locks.holds_writer()
    deadline = time.monotonic() + 60
    while True:
        try:
            db_locks.refuse_while_serving("reindexing")
            break
        except EngineError:
            assert time.monotonic() < deadline, "the dead bot's serving lock was never let go"
            time.sleep(0.2)


def test_a_database_that_cannot_be_reached_is_named_without_its_password() -> None:
    unreachable = PgLocks("postgresql://newsbot:s3cret@127.0.0.1:1/news?connect_timeout=5")
    with pytest.raises(
        EngineError, match=r"cannot lock the database at postgresql://newsbot:\*\*\*@"
    ) as caught:
        unreachable.writer_busy()
    assert "s3cret" not in str(caught.value)


def test_a_lock_let_go_of_is_free_at_once_not_when_the_server_ends_its_session(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ends a closed session's locks as its backend exits, after the client went on (a
    check right after once found a stopped serve still serving): so each lock is unlocked before its
    connection closes. Here no connection closes until the end, as if every backend were slow to go."""
    lingering: list[psycopg.Connection] = []
    close = psycopg.Connection.close
    monkeypatch.setattr(psycopg.Connection, "close", lambda conn: lingering.append(conn))
    db = PgLocks(pg_url)
    try:
        with db.serving():
            pass
        db.refuse_while_serving("re-embedding everything")  # the serve stopped: nothing refused
        with db.serving():  # nor does the check itself keep a serve out
            pass
        with db.writer():
            pass
        assert not db.writer_busy()
    finally:
        for conn in lingering:
            close(conn)
    assert len(lingering) == 5  # each of the five connections lingered: the locks were unlocked
