"""bench/scale.py at a tiny size on SQLite and on PostgreSQL (the tests' server): the same corpus on both,
every figure of each side by side, PostgreSQL's memory and disk, and its database gone afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import FIXTURES, ROOT

SIZE = 120


def test_scale_measures_sqlite_and_postgres_side_by_side(pg_server: Any, tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    args = [
        *("--sizes", str(SIZE), "--questions", "6", "--backend", "sqlite", "postgres"),
        *("--database-url", pg_server.get_uri(), "--work", str(tmp_path / "work")),
        *("--sentences", str(FIXTURES / "time" / "articles.jsonl"), "--json", str(out)),
    ]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    sqlite, postgres = report["sizes"][str(SIZE)]["sqlite"], report["sizes"][str(SIZE)]["postgres"]
    assert postgres["passages"] == sqlite["passages"] >= SIZE  # one corpus, built alike on both
    assert postgres["sentences"] == sqlite["sentences"]
    assert (postgres["index"], sqlite["index"]) == ("hnsw", "auto")
    for figures in (sqlite, postgres):
        assert figures["ingest sentences/s"] > 0
        assert 0 < figures["ask p50 ms"] <= figures["ask p95 ms"]
        assert figures["4 askers / 1"] > 0 and figures["4 askers / 1, 2 processes"] > 0
        assert figures["answering process RSS MB"] > 50 and figures["peak RSS MB"] > 50
        assert figures["index bytes"] > 0 and figures["cold ask s"] > 0
    assert postgres["postgres MB"] > 0  # the server's own memory
    assert postgres["database MB"] > 0 and sqlite["database MB"] >= 0  # and each one's disk
    assert "postgres MB" not in sqlite
    assert report["postgres server"]["pgvector"].startswith("0.8")
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| sqlite", "| postgres"))]
    assert [row.split()[1] for row in rows] == ["sqlite", "postgres"]
    with psycopg.connect(pg_server.get_uri()) as conn:
        scale = "SELECT count(*) FROM pg_database WHERE datname LIKE 'newsbot_scale_%'"
        left = conn.execute(scale).fetchone()
    assert left == (0,)  # each size's database is dropped once measured
