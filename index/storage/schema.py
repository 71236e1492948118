"""Every table, index, full-text table and trigger of a data dir, as numbered migrations.

`MIGRATIONS[n - 1]` is migration n. SQLite's ``PRAGMA user_version`` counts those a data dir has had;
`migrate` applies the rest, all in one transaction, when the store opens, so a store is never seen half
upgraded and a store already up to date is opened without a write. Feature modules own their queries,
never their tables: a new table or column is a new migration here.

Migration 1 is the whole schema as a fresh data dir gets it. Data dirs made before migrations were
numbered have ``user_version`` 0 and any shape an older newsbot left: migration 1 makes only the tables
they lack (each with its indexes, full-text table and triggers), and the later ones bring the older
shapes of the others to today's, each finding by itself whether there is anything to do. So each is
applied once, and is a no-op on a fresh data dir.

The settings row ``schema_version`` (`SCHEMA_VERSION`) is another number: the tables' shape that older
newsbots check before opening a data dir. Migrations that only add (a table, a column, an index) leave
it alone, so those versions still open the dir; one that changes what they would read must bump it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

SCHEMA_VERSION = 3  # the settings row older versions check; 2 is upgraded in place (migration 2)
READABLE = ("2", str(SCHEMA_VERSION))  # settings' schema_version of the data dirs this version opens

# A scope's newest day is the end of an index range, not a scan of its articles: the expression of
# `store.published_day("")`, written out since the store imports this module (a test holds them equal).
_DAY = "substr(published, 1, 10)"
PUBLISHED_DAY = f"(CASE WHEN date({_DAY}) = {_DAY} THEN {_DAY} END)"

# Ids are unique within a scope (NULL, shared, counting as one); scope filters use an index.
_SCOPE_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_articles_scope_id ON articles(coalesce(scope, ''), id)",
    "CREATE INDEX IF NOT EXISTS idx_articles_scope ON articles(scope)",
    f"CREATE INDEX IF NOT EXISTS idx_articles_scope_day ON articles(scope, {PUBLISHED_DAY})",
)
# Which stories print a sentence, from the index alone: the wire-copy check reads nothing else.
_COPY_CHECK_INDEX = "CREATE INDEX IF NOT EXISTS idx_sentences_norm_article ON sentences(norm, article_pk)"
# Term frequencies by seek (index/search/termstats.py).
_SENTENCE_VOCAB = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts_vocab USING fts5vocab(sentences_fts, 'row')"
)


def _fts(table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """An external-content FTS5 table over ``columns`` of ``table``, kept in step by triggers."""
    names = ", ".join(f'"{c}"' for c in columns)
    new = ", ".join(f'new."{c}"' for c in columns)
    old = ", ".join(f'old."{c}"' for c in columns)
    insert = f'INSERT INTO "{table}_fts" (rowid, {names}) VALUES (new.rowid, {new});'
    delete = (
        f'INSERT INTO "{table}_fts" ("{table}_fts", rowid, {names}) VALUES(\'delete\', old.rowid, {old});'
    )
    return (
        f'CREATE VIRTUAL TABLE "{table}_fts" USING FTS5 ({names}, tokenize=\'porter\', content="{table}")',
        f'CREATE TRIGGER "{table}_ai" AFTER INSERT ON "{table}" BEGIN {insert} END',
        f'CREATE TRIGGER "{table}_ad" AFTER DELETE ON "{table}" BEGIN {delete} END',
        f'CREATE TRIGGER "{table}_au" AFTER UPDATE ON "{table}" BEGIN {delete} {insert} END',
    )


# Migration 1: each table with everything that belongs to it, in the order they are made.
TABLES: dict[str, tuple[str, ...]] = {
    "articles": (
        "CREATE TABLE articles (pk INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL, "
        "text TEXT NOT NULL, url TEXT, source TEXT, published TEXT, content_hash TEXT NOT NULL, meta TEXT, "
        "ingested_at TEXT, title_vec BLOB, copy_of INTEGER REFERENCES articles(pk), scope TEXT)",
        "CREATE INDEX idx_articles_copy_of ON articles(copy_of)",
        *_SCOPE_INDEXES,
        "CREATE INDEX idx_articles_url ON articles(url)",
        "CREATE INDEX idx_articles_content_hash ON articles(content_hash)",
        "CREATE INDEX idx_articles_published ON articles(published)",
        *_fts("articles", ("title", "text")),
    ),
    "sentences": (
        "CREATE TABLE sentences (pk INTEGER PRIMARY KEY, article_pk INTEGER REFERENCES articles(pk), "
        'idx INTEGER, start INTEGER, "end" INTEGER, text TEXT, norm TEXT, vec BLOB)',
        "CREATE UNIQUE INDEX idx_sentences_article_pk_idx ON sentences(article_pk, idx)",
        _COPY_CHECK_INDEX,
        *_fts("sentences", ("text",)),
        _SENTENCE_VOCAB,
    ),
    "passages": (
        "CREATE TABLE passages (pk INTEGER PRIMARY KEY, article_pk INTEGER REFERENCES articles(pk), "
        'idx INTEGER, "first" INTEGER, "last" INTEGER)',
        "CREATE UNIQUE INDEX idx_passages_article_pk_idx ON passages(article_pk, idx)",
    ),
    "settings": (
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
        f"INSERT INTO settings (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}')",
    ),
    # Votes on quotes (index/features/feedback.py): one vote per person per quote, voting again replaces it.
    "feedback": (
        "CREATE TABLE feedback (pk INTEGER PRIMARY KEY, question TEXT NOT NULL, article_id TEXT NOT NULL, "
        "article_scope TEXT, sentence TEXT NOT NULL, vote INTEGER NOT NULL, guild_id TEXT, "
        "user_hash TEXT NOT NULL, voted_at TEXT NOT NULL)",
        "CREATE UNIQUE INDEX idx_feedback_vote "
        "ON feedback(user_hash, question, article_id, coalesce(article_scope, ''), sentence)",
    ),
    # Questions kept for their buttons (index/features/saved_questions.py).
    "saved_questions": (
        "CREATE TABLE saved_questions (key TEXT PRIMARY KEY, text TEXT NOT NULL, outlet TEXT, "
        "since TEXT, until TEXT, scope TEXT, saved_at REAL NOT NULL, asker TEXT)",
        "CREATE INDEX idx_saved_questions_saved_at ON saved_questions(saved_at)",
    ),
    # Feeds (index/reading/feeds/): a feed's health, who follows it, what each follower took, what fails.
    # feeds.etag / last_modified are what versions before scopes kept: left for them alone.
    "feeds": (
        "CREATE TABLE feeds (url TEXT PRIMARY KEY, added_at TEXT NOT NULL, etag TEXT, last_modified TEXT, "
        "last_polled_at TEXT, last_ok_at TEXT, last_error TEXT, "
        "consecutive_failures INTEGER NOT NULL DEFAULT 0, next_poll_after TEXT, "
        "claimed_by TEXT, claimed_until REAL)",
    ),
    "feed_subscriptions": (
        "CREATE TABLE feed_subscriptions (feed_url TEXT NOT NULL REFERENCES feeds(url), scope TEXT, "
        "name TEXT, added_at TEXT NOT NULL, etag TEXT, last_modified TEXT)",
        "CREATE UNIQUE INDEX idx_feed_subscriptions ON feed_subscriptions(feed_url, coalesce(scope, ''))",
    ),
    "feed_items": (
        "CREATE TABLE feed_items (feed_url TEXT NOT NULL REFERENCES feeds(url), scope TEXT, "
        "guid TEXT NOT NULL, link TEXT, seen_at TEXT)",
        "CREATE UNIQUE INDEX idx_feed_items ON feed_items(feed_url, coalesce(scope, ''), guid)",
    ),
    "feed_item_failures": (
        "CREATE TABLE feed_item_failures (feed_url TEXT NOT NULL REFERENCES feeds(url), "
        "guid TEXT NOT NULL, first_failed_at TEXT NOT NULL, error TEXT, PRIMARY KEY (feed_url, guid))",
    ),
    # Standing queries (index/features/watch.py), and each channel's posts of the last hour for its
    # hourly cap (older ones are dropped).
    "watches": (
        "CREATE TABLE watches (pk INTEGER PRIMARY KEY, query TEXT NOT NULL, scope TEXT, channel INTEGER, "
        "created_at TEXT NOT NULL, last_pk INTEGER NOT NULL, posted_at REAL, claimed_by TEXT, "
        "claimed_until REAL)",
        "CREATE INDEX idx_watches_scope ON watches(scope)",
    ),
    "watch_posts": (
        "CREATE TABLE watch_posts (channel INTEGER NOT NULL, posted_at REAL NOT NULL)",
        "CREATE INDEX idx_watch_posts_channel ON watch_posts(channel, posted_at)",
    ),
}


# The tables whose rows processes claim (`NewsStore.claim`: a feed to poll, a watch to check), each
# with its key; a row's claim is its ``claimed_by`` and ``claimed_until`` columns.
CLAIMS = {"feeds": "url", "watches": "pk"}


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info([{table}])")}


def _setting(db: sqlite3.Connection, key: str) -> str | None:
    if "settings" not in _tables(db):
        return None
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _every_table(db: sqlite3.Connection) -> None:
    """1: every table a data dir lacks, as a fresh one gets it."""
    present = _tables(db)
    for table, statements in TABLES.items():
        if table not in present:
            for statement in statements:
                db.execute(statement)


def _scopes(db: sqlite3.Connection) -> None:
    """2: schema 2 (before scopes) to 3: every article stored until then becomes shared news, and ids
    are unique per scope rather than overall."""
    if _setting(db, "schema_version") != "2":
        return
    db.execute("ALTER TABLE articles ADD COLUMN scope TEXT")
    db.execute("DROP INDEX IF EXISTS idx_articles_id")
    db.execute("UPDATE settings SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])


def _feeds_by_scope(db: sqlite3.Connection) -> None:
    """3: feeds from before scopes: items seen become shared news's, and each feed is followed by
    shared news under the name it had."""
    if "scope" not in _columns(db, "feed_items"):
        db.execute("ALTER TABLE feed_items RENAME TO feed_items_unscoped")
        for statement in TABLES["feed_items"]:
            db.execute(statement)
        db.execute(
            "INSERT INTO feed_items (feed_url, scope, guid, link, seen_at) "
            "SELECT feed_url, NULL, guid, link, seen_at FROM feed_items_unscoped"
        )
        db.execute("DROP TABLE feed_items_unscoped")
    if "name" in _columns(db, "feeds"):  # a feed nobody follows was made before subscriptions
        db.execute(
            "INSERT INTO feed_subscriptions (feed_url, scope, name, added_at) "
            "SELECT url, NULL, name, added_at FROM feeds f "
            "WHERE NOT EXISTS (SELECT 1 FROM feed_subscriptions s WHERE s.feed_url = f.url)"
        )


def _later_indexes(db: sqlite3.Connection) -> None:
    """4: the indexes and the term-frequency table added since data dirs were first made (the copy
    check's index replaces the one on the sentence key alone)."""
    for statement in (*_SCOPE_INDEXES, _COPY_CHECK_INDEX, _SENTENCE_VOCAB):
        db.execute(statement)
    db.execute("DROP INDEX IF EXISTS idx_sentences_norm")


def _add_columns(table: str, columns: Sequence[str]) -> Callable[[sqlite3.Connection], None]:
    def add(db: sqlite3.Connection) -> None:
        for column in columns:
            if column not in _columns(db, table):
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    add.__doc__ = f"{table} gets {', '.join(columns)}."
    return add


def _claims(db: sqlite3.Connection) -> None:
    """7: the claims of feeds and watches (`CLAIMS`), so that processes sharing the data dir poll a
    feed and check a watch once."""
    for table in CLAIMS:
        present = _columns(db, table)
        for column, kind in (("claimed_by", "TEXT"), ("claimed_until", "REAL")):
            if column not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _every_table,
    _scopes,
    _feeds_by_scope,
    _later_indexes,
    _add_columns("saved_questions", ["asker"]),  # 5: made before askers were kept
    # 6: validators per follower. A feed's own from before are not copied: which followers took
    # everything at them is unknown, and one full fetch per feed is cheap next to a missed item.
    _add_columns("feed_subscriptions", ["etag", "last_modified"]),
    _claims,
)


def version(db: sqlite3.Connection) -> int:
    """How many of `MIGRATIONS` the database has had."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def readable(db: sqlite3.Connection) -> bool:
    """Whether this version can read (and so may migrate) the database: a new one, or one whose
    tables' shape it knows."""
    return "settings" not in _tables(db) or _setting(db, "schema_version") in READABLE


def migrate(db: sqlite3.Connection) -> list[int]:
    """Apply the migrations the database has not had, in one transaction; the numbers applied. Taken
    with the write lock (BEGIN IMMEDIATE) and read again under it, so that of two processes opening an
    old data dir at once one migrates and the other finds it done. A database this version cannot
    read is left as it is."""
    if version(db) >= len(MIGRATIONS) or not readable(db):
        return []
    db.execute("BEGIN IMMEDIATE")
    try:
        start = version(db)
        applied = list(range(start + 1, len(MIGRATIONS) + 1)) if readable(db) else []
        for number in applied:
            MIGRATIONS[number - 1](db)
        db.execute(f"PRAGMA user_version = {start + len(applied)}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return applied
