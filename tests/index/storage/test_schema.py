"""One schema: every table declared in index/storage/schema.py, numbered migrations applied once on open."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from index.storage import schema
from index.storage.store import Store, published_day

# A data dir as newsbot left it before scopes (schema 2), with a row in each table that changed since,
# and before the tables for votes, watches and failing feed items, and before askers were kept.
SCHEMA_2 = """
CREATE TABLE articles (pk INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    url TEXT, source TEXT, published TEXT, content_hash TEXT NOT NULL, meta TEXT, ingested_at TEXT,
    title_vec BLOB, copy_of INTEGER REFERENCES articles(pk));
CREATE UNIQUE INDEX idx_articles_id ON articles(id);
CREATE VIRTUAL TABLE articles_fts USING FTS5 (title, text, tokenize='porter', content="articles");
CREATE TABLE sentences (pk INTEGER PRIMARY KEY, article_pk INTEGER REFERENCES articles(pk), idx INTEGER,
    start INTEGER, "end" INTEGER, text TEXT, norm TEXT, vec BLOB);
CREATE INDEX idx_sentences_norm ON sentences(norm);
CREATE VIRTUAL TABLE sentences_fts USING FTS5 (text, tokenize='porter', content="sentences");
CREATE TABLE passages (pk INTEGER PRIMARY KEY, article_pk INTEGER, idx INTEGER, "first" INTEGER,
    "last" INTEGER);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO settings VALUES ('schema_version', '2');
CREATE TABLE saved_questions (key TEXT PRIMARY KEY, text TEXT NOT NULL, outlet TEXT, since TEXT,
    until TEXT, scope TEXT, saved_at REAL NOT NULL);
CREATE TABLE feeds (url TEXT PRIMARY KEY, name TEXT, added_at TEXT NOT NULL, etag TEXT,
    last_modified TEXT, last_polled_at TEXT, last_ok_at TEXT, last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0, next_poll_after TEXT);
CREATE TABLE feed_items (feed_url TEXT REFERENCES feeds(url), guid TEXT, link TEXT, seen_at TEXT,
    PRIMARY KEY (feed_url, guid));
INSERT INTO articles (pk, id, title, text, content_hash) VALUES (1, 'bell', 'Bell', 'It rang.', 'h');
INSERT INTO feeds (url, name, added_at) VALUES ('https://gazette.example/rss', 'Gazette', '2024-01-01');
INSERT INTO feed_items VALUES ('https://gazette.example/rss', 'g1', NULL, '2024-01-01T00:00');
"""


def _old_data_dir(tmp_path: Path, sql: str = SCHEMA_2) -> Path:
    path = tmp_path / "newsbot.db"
    db = sqlite3.connect(path)
    db.executescript(sql)
    db.close()
    return path


def _names(db: sqlite3.Connection, kind: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = ?", [kind])}


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def test_a_fresh_store_has_every_table_at_the_latest_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "newsbot.db")
    try:
        db = store.db.conn
        assert set(schema.TABLES) <= _names(db, "table")
        assert {"articles_fts", "sentences_fts", "sentences_fts_vocab"} <= _names(db, "table")
        assert {"articles_ai", "articles_ad", "articles_au", "sentences_au"} <= _names(db, "trigger")
        assert schema.version(db) == len(schema.MIGRATIONS)
        assert store.readable and store.get_setting("schema_version") == str(schema.SCHEMA_VERSION)
        assert "idx_sentences_norm" not in _names(db, "index")
    finally:
        store.close()


def test_the_scope_day_index_is_the_expression_the_queries_use() -> None:
    assert published_day("") == schema.PUBLISHED_DAY


def test_a_data_dir_of_an_older_version_is_migrated_on_open(tmp_path: Path) -> None:
    path = _old_data_dir(tmp_path)
    store = Store(path)
    try:
        db = store.db.conn
        assert store.readable and store.get_setting("schema_version") == "3"
        assert schema.version(db) == len(schema.MIGRATIONS)
        assert set(schema.TABLES) <= _names(db, "table")
        assert store.query("SELECT id, scope FROM articles") == [{"id": "bell", "scope": None}]
        indexes = _names(db, "index")
        assert {"idx_articles_scope_id", "idx_articles_scope_day", "idx_sentences_norm_article"} <= indexes
        assert not {"idx_articles_id", "idx_sentences_norm"} & indexes
        assert store.query("SELECT feed_url, scope, name FROM feed_subscriptions") == [
            {"feed_url": "https://gazette.example/rss", "scope": None, "name": "Gazette"}
        ]
        assert store.query("SELECT scope, guid FROM feed_items") == [{"scope": None, "guid": "g1"}]
        assert "feed_items_unscoped" not in _names(db, "table")
        assert _columns(db, "saved_questions")[-1] == "asker"
        assert _columns(db, "feed_subscriptions")[-2:] == ["etag", "last_modified"]
        for claimed in schema.CLAIMS:  # feeds from schema 2, watches made whole by migration 1
            assert _columns(db, claimed)[-2:] == ["claimed_by", "claimed_until"]
    finally:
        store.close()


def test_migrations_are_applied_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[int] = []

    def counted(number: int, migration: Callable[[sqlite3.Connection], None]) -> Callable:
        def run(db: sqlite3.Connection) -> None:
            applied.append(number)
            migration(db)

        return run

    numbered = tuple(counted(n, m) for n, m in enumerate(schema.MIGRATIONS, 1))
    monkeypatch.setattr(schema, "MIGRATIONS", numbered)
    path = _old_data_dir(tmp_path)
    for _ in range(2):
        Store(path).close()
    assert applied == list(range(1, len(numbered) + 1))
    applied.clear()
    Store(tmp_path / "fresh.db").close()
    assert applied == list(range(1, len(numbered) + 1))  # on a fresh store the later ones find nothing


def test_an_up_to_date_store_opens_without_a_write(tmp_path: Path) -> None:
    """A process that only reads never waits for a writer to open the store."""
    path = tmp_path / "newsbot.db"
    Store(path).close()
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of an ingest
    try:
        store = Store(path)
        assert store.readable and store.count("articles") == 0
        store.close()
    finally:
        writer.rollback()
        writer.close()


def test_a_failing_migration_leaves_the_data_dir_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(db: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    path = _old_data_dir(tmp_path)
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    with pytest.raises(sqlite3.OperationalError):
        Store(path)
    db = sqlite3.connect(path)
    assert schema.version(db) == 0
    assert "feedback" not in _names(db, "table") and "scope" not in _columns(db, "articles")
    db.close()


def test_a_data_dir_of_a_schema_this_version_cannot_read_is_left_untouched(tmp_path: Path) -> None:
    path = _old_data_dir(tmp_path, SCHEMA_2.replace("'schema_version', '2'", "'schema_version', '9'"))
    store = Store(path)
    try:
        assert not store.readable
        assert schema.version(store.db.conn) == 0 and "feedback" not in _names(store.db.conn, "table")
    finally:
        store.close()


def test_two_processes_opening_an_old_data_dir_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = _old_data_dir(tmp_path)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store(path).close()
        except BaseException as exc:  # reported below, not lost on the thread
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    store = Store(path)
    try:
        assert store.query("SELECT count(*) AS n FROM feed_subscriptions") == [{"n": 1}]
        assert schema.version(store.db.conn) == len(schema.MIGRATIONS)
    finally:
        store.close()
