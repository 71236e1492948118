"""The engine's SQLite statements as PostgreSQL takes them, and database URLs as logs show them."""

from __future__ import annotations

import pytest

from index.storage.postgres.dialect import Statement, translate
from index.storage.postgres.urls import masked
from index.storage.store import Filters


def test_placeholders_and_percent_signs_outside_literals_and_quoted_names() -> None:
    sql = "SELECT pk % ? AS r, '?%' AS lit, \"odd?\" FROM t WHERE x = ? AND y = 'it''s ?'"
    assert translate(sql) == Statement(
        "SELECT pk %% %s AS r, '?%' AS lit, \"odd?\" FROM t WHERE x = %s AND y = 'it''s ?'"
    )


def test_sqlites_date_becomes_the_schemas_function_and_other_names_stay() -> None:
    where, _ = Filters(since="2024-03-01").sql()
    translated = translate(f"SELECT a.updated_date, date(x) FROM articles a WHERE {where}").sql
    assert translated.count("sqlite_date(substr(a.published, 1, 10))") == 1
    assert "a.updated_date, sqlite_date(x)" in translated and " date(" not in translated


def test_insert_or_ignore_and_or_replace_become_on_conflict() -> None:
    assert translate("INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?);").sql == (
        "INSERT INTO settings(key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    )
    assert translate("insert or replace into saved_questions (key, text, saved_at) VALUES (?, ?, ?)").sql == (
        "insert into saved_questions (key, text, saved_at) VALUES (%s, %s, %s) "
        'ON CONFLICT ("key") DO UPDATE SET "text" = EXCLUDED."text", "saved_at" = EXCLUDED."saved_at"'
    )
    with pytest.raises(ValueError, match="without the table's key and the columns named"):
        translate("INSERT OR REPLACE INTO watch_posts (channel, posted_at) VALUES (?, ?)")


def test_an_insert_returns_its_row_key_when_asked() -> None:
    sql = "INSERT INTO watches (query, last_pk) VALUES (?, ?)"
    assert translate(sql, returning=True) == Statement(
        'INSERT INTO watches (query, last_pk) VALUES (%s, %s) RETURNING "pk"', "pk"
    )
    assert translate(sql).key is None
    assert translate("INSERT INTO watch_posts (channel, posted_at) VALUES (?, ?)", returning=True).key is None
    assert translate("UPDATE watches SET last_pk = ?", returning=True).key is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:s3cr%40t@db.example:5432/news", "postgresql://bob:***@db.example:5432/news"),
        ("postgresql://bob@db.example/news", "postgresql://bob@db.example/news"),
        (
            "postgresql:///news?password=s3cret&sslmode=require",
            "postgresql:///news?password=***&sslmode=require",
        ),
        ("host=db password='s3 cret' dbname=news", "host=db password=*** dbname=news"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert masked(url) == shown
