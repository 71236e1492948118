"""The PostgreSQL the tests start: pgvector must compute on this CPU (0.1.6's build dies with SIGILL
without AVX-512), and each test gets its own empty database."""

from __future__ import annotations

import psycopg

from tests.postgres import check_pgvector


def test_pgvector_computes_a_384_dimensional_distance(pg_url: str) -> None:
    """The server fixture already checked it before any test ran (tests/postgres.py); so does this,
    on a test's own database, so a broken build fails here by name too."""
    check_pgvector(pg_url)


def test_each_test_gets_a_fresh_database_with_pgvector(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        extensions = conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchall()
        conn.execute("CREATE TABLE marker (x int)")
    assert tables == (0,)
    assert extensions == [("vector",)]


def test_the_next_test_does_not_see_the_previous_ones_tables(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        found = conn.execute("SELECT to_regclass('public.marker')").fetchone()
    assert found == (None,)
