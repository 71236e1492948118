"""`newsbot migrate --to`: the counts it prints, and its exit code when they differ or a database is
refused."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bot.cli import main
from index import Engine, Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "news"
WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire-story.txt"


@pytest.fixture(autouse=True)
def _index_log_level() -> Iterator[None]:
    """The command raises the engine's log level to show its tables; put it back for other tests."""
    level = logging.getLogger("index").level
    yield
    logging.getLogger("index").setLevel(level)


@pytest.fixture
def data_dir(hash_settings: Settings) -> Path:
    engine = Engine(hash_settings)
    try:
        engine.ingest_paths([EXAMPLES])
        with engine.store.transaction():
            for voter in ("u1", "u2"):
                engine.store.execute(
                    "INSERT INTO feedback (question, article_id, sentence, vote, user_hash, voted_at) "
                    "VALUES ('who?', 'x', 's', 1, ?, 'now')",
                    [voter],
                )
    finally:
        engine.close()
    return hash_settings.data_dir


def _migrate(data_dir: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["migrate", "--data-dir", str(data_dir), "--to", url])
    out, err = capsys.readouterr()
    return code, out, err


def _counts(out: str) -> dict[str, list[str]]:
    return {line[:16].strip(): line[16:].split() for line in out.splitlines()[:-1]}


def test_migrate_prints_every_count_and_exits_zero(data_dir: Path, pg_url: str, capsys) -> None:
    code, out, err = _migrate(data_dir, pg_url, capsys)
    assert code == 0, err
    counts = _counts(out)
    assert counts["articles"] == ["1"] and counts["feedback"] == ["2"] and counts["watch_posts"] == ["0"]
    assert counts["passages"] == counts["passage vectors"] != ["0"]
    assert out.splitlines()[-1].startswith(f"copied {data_dir} into PostgreSQL: every count matches")


def test_the_migrated_database_answers_newsbot_ask(
    data_dir: Path, pg_url: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the command's last line says: with NEWSBOT_DATABASE_URL set, a data dir of its own (only
    its locks) answers from PostgreSQL as the migrated one did."""
    monkeypatch.setenv("NEWSBOT_MODEL", "hash")
    monkeypatch.setenv("NEWSBOT_RERANK", "false")
    question = ["ask", "--json", "who warned ships?"]
    assert main([*question, "--data-dir", str(data_dir)]) == 0
    before = json.loads(capsys.readouterr().out)
    assert _migrate(data_dir, pg_url, capsys)[0] == 0
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", pg_url)
    assert main([*question, "--data-dir", str(tmp_path / "locks-only")]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["answers"][0]["sentence"] == before["answers"][0]["sentence"]
    assert "coast guard" in after["answers"][0]["sentence"]


def test_migrate_names_the_tables_whose_counts_differ(data_dir: Path, pg_url: str, capsys) -> None:
    assert _migrate(data_dir, pg_url, capsys)[0] == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM feedback WHERE pk = 1")  # a row below the largest key: not copied again
    code, out, err = _migrate(data_dir, pg_url, capsys)
    assert code == 1 and "feedback" in out and "DIFFERS (data dir 2)" in out
    assert "differs from" in err and "in feedback:" in err and "run the same command again" in err


def test_migrate_refuses_a_database_holding_other_news(
    data_dir: Path, hash_settings: Settings, pg_url: str, tmp_path: Path, capsys
) -> None:
    other = Engine(hash_settings.model_copy(update={"database_url": pg_url, "data_dir": tmp_path / "pg"}))
    try:
        other.ingest_paths([WIRE])
    finally:
        other.close()
    code, out, err = _migrate(data_dir, pg_url, capsys)
    assert code == 1 and out == ""
    assert err.startswith("newsbot: the database at ") and "is not empty (it holds 1 articles" in err
