"""PostgreSQL (psycopg 3): the same `NewsStore` the SQLite `Store` is, for several processes on several
machines sharing one database.

The lock story, as SQLite's: a thread inside `transaction` has a connection of its own for the whole
of it, so it reads its own uncommitted rows; every other read or write borrows a pooled connection in
autocommit mode for one statement, and sees what was committed. Transactions are one at a time across
every process, as SQLite's writes are: each outermost one takes a transaction-level advisory lock
first, so a count-then-insert (a feed limit, the next article pk) holds whoever else writes. Nested,
a transaction is a savepoint that commits with the outer one. One writer's transaction lends its lock:
a first load's postings are written by a transaction per table, side by side, while the transaction
that took the lock waits for them (`write_pending`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from index.core.errors import EngineError
from index.core.models import ArticleKey
from index.storage import store as sqlite_store
from index.storage.postgres import schema
from index.storage.postgres.dialect import translate
from index.storage.postgres.text_search import (
    ARTICLES,
    DEFERRED,
    PENDING,
    SENTENCES,
    Indexed,
    PostgresTextSearch,
)
from index.storage.postgres.urls import masked
from index.storage.schema import CLAIMS
from index.storage.store import FOUND, Store, _last_ingest_key, found_ways, scope_clause

log = logging.getLogger(__name__)

# Connections a process keeps: enough for the bot's worker threads to read while one writes; the
# pool opens them as they are needed, up to this many. Changes only speed and memory.
POOL_SIZE = 16
WRITE_LOCK = 0x6E657773_0002  # pg_advisory_xact_lock key: one writing transaction at a time
CONNECT_SECONDS = 10
PENDING_BATCH = 250_000  # rows whose deferred postings one statement writes (`write_pending`)
# The tables an ingest fills, whose statistics `settle` refreshes after a bulk load.
SETTLED = ("articles", "sentences", "passages", "sentence_postings", "article_postings", "text_search_terms")
_SET = "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"


@dataclass(frozen=True)
class Result:
    """What a write tells (`interface.Cursor`): the rows it changed, and the key an insert made."""

    rowcount: int
    lastrowid: int | None = None


def _configure(conn: psycopg.Connection[Any], read_only: bool = False) -> None:
    """Times without a zone are UTC, as SQLite reads them (julianday). A read-only store's sessions
    refuse writes, as a replica's do: a stray one fails in the tests too, not only on a standby."""
    conn.execute("SET TIME ZONE 'UTC'")
    if read_only:
        conn.execute("SET default_transaction_read_only = on")


class PostgresStore(PostgresTextSearch):
    """One PostgreSQL database, shared by threads and by processes; keyword search is the mixin's, on
    the postings of migration 4."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """``read_only``: a replica (NEWSBOT_DATABASE_READ_URL), read as it is, never migrated or written."""
        self.url = url
        self.read_only = read_only
        setting = "NEWSBOT_DATABASE_READ_URL" if read_only else "NEWSBOT_DATABASE_URL"
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
                _configure(conn, read_only)
                # A database this version cannot read is left untouched: the engine refuses it, saying why.
                self.readable = schema.readable(conn)
                applied = [] if read_only else schema.migrate(conn)
                had = schema.version(conn)
        except psycopg.OperationalError as exc:
            raise EngineError(
                f"cannot open the PostgreSQL database at {masked(url)} ({' '.join(str(exc).split())}): check "
                f"{setting}, that the server runs and that the user may connect"
            ) from exc
        if read_only and self.readable and had < len(schema.MIGRATIONS):
            raise EngineError(
                f"the read database at {masked(url)} has had {had} of newsbot's {len(schema.MIGRATIONS)} "
                "migrations, which come from the primary: point NEWSBOT_DATABASE_READ_URL at a replica of "
                "NEWSBOT_DATABASE_URL's database, and once it has caught up start newsbot again"
            )
        self.pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": CONNECT_SECONDS},
            configure=partial(_configure, read_only=read_only),
            open=True,
            name="newsbot",
        )
        self._local = threading.local()
        self._deferring = False  # within `loading` of an empty database: the postings wait for its end
        log.info(
            "PostgreSQL store at %s%s%s",
            masked(url),
            " (read-only)" if read_only else "",
            f" (migrations {applied} applied)" if applied else "",
        )

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """The thread's transaction's connection, or a pooled one for one statement."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
        else:
            with self.pool.connection() as pooled:
                yield pooled

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing writes: an ingest batch lands whole or not at all. Nested in another (a
        savepoint), it commits only with the outer one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with conn.transaction():
                yield
            return
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            if self._deferring:
                conn.execute(f"SET LOCAL {DEFERRED} = 'on'")
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    # -- any table ----------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return conn.execute(translate(sql).sql, list(params)).fetchall()

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Result:
        """One statement; the rows it changed (``rowcount``) and, for an INSERT, the key of the row it
        made (``lastrowid``, None when it made none)."""
        statement = translate(sql, returning=True)
        with self._connection() as conn:
            cursor = conn.execute(statement.sql, list(params))
            row = cursor.fetchone() if statement.key is not None else None
            return Result(cursor.rowcount, row[statement.key] if row else None)

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [list(row) for row in rows]
        if rows:
            with self._connection() as conn, conn.cursor() as cursor:
                cursor.executemany(translate(sql).sql, rows)

    def count(self, table: str) -> int:
        if table not in schema.TABLES:
            raise ValueError(f"no table {table!r}: one of {', '.join(schema.TABLES)}")
        return int(self.query(f'SELECT count(*) AS n FROM "{table}"')[0]["n"])

    def claim(
        self,
        table: str,
        keys: Sequence[Any],
        claimant: str,
        now: float,
        until: float,
        *,
        force: bool = False,
    ) -> list[Any]:
        """See `NewsStore.claim`: one autocommit UPDATE of the rows ``FOR UPDATE SKIP LOCKED`` selects,
        outside `transaction` and its `WRITE_LOCK`, so it waits neither for an ingest nor for another
        claimer: a row another claim is taking at that moment is skipped, as that claim takes it. A
        forced claim waits for such a row (the statements that lock one are short)."""
        if not keys:
            return []
        key = CLAIMS[table]
        free = "" if force else " AND (claimed_until IS NULL OR claimed_until <= %s OR claimed_by = %s)"
        with self._connection() as conn:
            rows = conn.execute(
                f"UPDATE {table} SET claimed_by = %s, claimed_until = %s WHERE {key} IN (SELECT {key} "
                f"FROM {table} WHERE {key} = ANY(%s){free} FOR UPDATE{'' if force else ' SKIP LOCKED'}) "
                f"RETURNING {key}",
                [claimant, until, list(keys), *([] if force else [now, claimant])],
            ).fetchall()
        return [row[key] for row in rows]

    # -- settings -----------------------------------------------------------------------------

    # Portable SQL through `query`: the SQLite store's own code serves both.
    get_setting = Store.get_setting
    last_ingest = Store.last_ingest
    generation = Store.generation

    def set_setting(self, key: str, value: str) -> None:
        self.execute(_SET, [key, value])

    def set_last_ingest(self, scopes: Iterable[str | None], when: str) -> None:
        """Note that articles were stored into each of ``scopes`` at ``when`` (an ISO time in UTC)."""
        with self.transaction():
            self.execute_many(_SET, [(_last_ingest_key(scope), when) for scope in scopes])

    def bump_generation(self) -> int:
        """The next generation, written in the caller's transaction (so it commits with the rows)."""
        rows = self.query(
            "INSERT INTO settings(key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = (coalesce(settings.value, '0')::bigint + 1)::text RETURNING value"
        )
        return int(rows[0]["value"])

    # -- articles -----------------------------------------------------------------------------

    find_existing = Store.find_existing
    find_existing_many = Store.find_existing_many
    near_duplicates = Store.near_duplicates
    near_duplicates_many = Store.near_duplicates_many
    _near_duplicates = Store._near_duplicates
    sentence_norms = Store.sentence_norms
    copies_of = Store.copies_of
    article_in_scope = Store.article_in_scope

    @staticmethod
    def _found(keys: Sequence[ArticleKey]) -> tuple[str, list[Any]]:
        """`find_existing_many`'s statement (see `Store._found`): a lateral subquery per key, its best
        match alone, so each way is an index look-up whatever the statistics say (a join of the keys
        was planned as a scan of every article while a bulk load ran ahead of its statistics)."""
        branches = [f"SELECT {columns} FROM articles a WHERE {where}" for columns, where in found_ways()]
        return (
            f'SELECT k.i, f."by", {", ".join(f"f.{c}" for c in FOUND)} FROM (SELECT i - 1 AS i, id, url, '
            "content_hash, coalesce(scope, '') AS scope FROM unnest(?::text[], ?::text[], ?::text[], "
            "?::text[]) WITH ORDINALITY AS keys(id, url, content_hash, scope, i)) k CROSS JOIN LATERAL "
            f"(SELECT * FROM ({' UNION ALL '.join(branches)}) ways "
            "ORDER BY rank, copy_of IS NOT NULL LIMIT 1) f",
            [list(column) for column in zip(*keys, strict=True)],
        )

    def _holders(self, norms: list[str]) -> dict[str, list[int]]:
        """The stories printing each sentence, newest first: `HOLDERS_CHECKED` + 1 at most (see
        `Store._holders`; read where `near_duplicates` reads it)."""
        rows = self.query(
            "SELECT q.norm, ARRAY(SELECT article_pk FROM sentences WHERE norm = q.norm "
            "ORDER BY article_pk DESC LIMIT ?) AS held FROM unnest(?::text[]) AS q(norm)",
            [sqlite_store.HOLDERS_CHECKED + 1, norms],
        )
        return {r["norm"]: r["held"] for r in rows}

    def _norms_held(self, norms: list[str], pks: list[int]) -> dict[int, int]:
        """How many of ``norms`` each of the stories ``pks`` prints."""
        rows = self.query(
            "SELECT article_pk, count(DISTINCT norm) AS n FROM sentences "
            "WHERE norm = ANY(?::text[]) AND article_pk = ANY(?::bigint[]) GROUP BY article_pk",
            [norms, pks],
        )
        return {r["article_pk"]: r["n"] for r in rows}

    def _sharing(self, pks: list[int], norms: list[str], overlap: float, scope: str | None) -> list[dict]:
        """Of the stories ``pks`` (not copies, of exactly ``scope``), those sharing ``overlap`` of
        ``norms`` and of their own sentences, with the counts, most shared first."""
        exact, params = scope_clause("a.scope", scope)
        return self.query(
            "SELECT * FROM (SELECT s.article_pk AS pk, a.id, a.source, count(DISTINCT s.norm) AS shared, "
            "(SELECT count(DISTINCT t.norm) FROM sentences t WHERE t.article_pk = s.article_pk) AS total "
            "FROM articles a JOIN sentences s ON s.article_pk = a.pk "
            "WHERE a.pk = ANY(?::bigint[]) AND s.norm = ANY(?::text[]) "
            f"AND a.copy_of IS NULL AND {exact} GROUP BY s.article_pk, a.id, a.source) found "
            "WHERE shared >= ? AND shared >= ? * total ORDER BY shared DESC, pk",
            [pks, norms, *params, overlap * len(norms), overlap],
        )

    def next_article_pk(self) -> int:
        """The first pk past every article, for a writer numbering a batch as `next_passage_pk` does."""
        return int(self.query("SELECT coalesce(max(pk), 0) + 1 AS pk FROM articles")[0]["pk"])

    def insert_articles(self, rows: list[dict[str, Any]]) -> None:
        """Rows carry their pk (from `next_article_pk`): one bulk insert."""
        self._insert("articles", [{**row, "meta": _meta(row)} for row in rows])

    def replace_article(self, pk: int, row: dict[str, Any]) -> list[int]:
        """Give a stored article new text in place (its pk, so its wire copies, stay); drops its old
        sentences and passages and returns the removed passage pks."""
        with self.transaction():
            removed = self._delete_parts(pk)
            row = {**row, "meta": _meta(row)}
            columns = ", ".join(f'"{c}" = ?' for c in row)
            self.execute(f"UPDATE articles SET {columns} WHERE pk = ?", [*row.values(), pk])
        return removed

    def delete_articles(self, pks: Sequence[int]) -> list[int]:
        """Delete articles with their sentences and passages; returns the removed passage pks. Copies
        must come before the story they copy."""
        removed: list[int] = []
        with self.transaction():
            for pk in pks:
                removed += self._delete_parts(pk)
                self.execute("DELETE FROM articles WHERE pk = ?", [pk])
        return removed

    def _delete_parts(self, article_pk: int) -> list[int]:
        """Drop an article's passages and sentences; the passage pks."""
        gone = self.query("DELETE FROM passages WHERE article_pk = ? RETURNING pk", [article_pk])
        self.execute("DELETE FROM sentences WHERE article_pk = ?", [article_pk])
        return sorted(r["pk"] for r in gone)

    def insert_sentences(self, rows: list[dict[str, Any]]) -> None:
        self._insert("sentences", rows)

    def next_passage_pk(self) -> int:
        """The first pk past every passage: the writer numbers a batch itself, so FAISS learns each pk."""
        return int(self.query("SELECT coalesce(max(pk), 0) + 1 AS pk FROM passages")[0]["pk"])

    def insert_passages(self, rows: list[dict[str, Any]]) -> None:
        """Rows carry their pk (from `next_passage_pk`): one bulk insert, no per-row round trip."""
        self._insert("passages", rows)

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Around an ingest or a migration. A load into an empty database (no articles) defers its
        keyword-search postings: its transactions only note their rows as pending, and the postings of
        all of them are written at its end (`write_pending`), where the triggers would write them a
        chunk at a time into ever larger indexes: a 40k-passage load took 43 s instead of 51–54
        (docs/benchmarks.md). Until then keyword search does not see the load's rows (the passage
        vectors do). Rows a killed load left pending are written at the end of the next ingest."""
        with self._connection() as conn:
            held = conn.execute("SELECT EXISTS (SELECT 1 FROM articles) AS held").fetchone()
        self._deferring = not held["held"]  # type: ignore[index]
        try:
            yield
        finally:
            self._deferring = False
            self.write_pending()

    def write_pending(self) -> None:
        """Write the postings of every pending row (see `loading`): into postings that hold none yet
        (a first load) all at once, their index built after them (questions' keyword reads wait for
        that transaction; the two tables side by side, see `_write_first_pending`); else
        `PENDING_BATCH` rows a transaction. Under the write lock: a writer deleting a pending row
        waits, so it never misses the postings being written for it. An ingest with nothing pending
        (every one but a first load) reads that once, without the lock."""
        if getattr(self._local, "conn", None) is not None:  # its locks would hold up the tables' passes
            raise RuntimeError("write_pending runs outside a transaction: each table's pass has its own")
        more = f"SELECT EXISTS (SELECT 1 FROM {PENDING} WHERE source = %s) AS more"
        if not self.query(f"SELECT EXISTS (SELECT 1 FROM {PENDING}) AS more")[0]["more"]:
            return
        tables = (ARTICLES, SENTENCES)
        with self.transaction(), ThreadPoolExecutor(max_workers=len(tables)) as beside:
            for written in [beside.submit(self._write_first_pending, table) for table in tables]:
                written.result()
        for table in tables:
            while True:
                with self.transaction(), self._connection() as conn:
                    if not conn.execute(more, [table.source]).fetchone()["more"]:  # type: ignore[index]
                        break
                    conn.execute(table.write_pending(PENDING_BATCH))

    def _write_first_pending(self, table: Indexed) -> None:
        """The pending rows of ``table``, if its postings hold none yet, all at once
        (`write_first_pending`), in a transaction of its own while the caller's holds the write lock
        (and reads neither table, whose keys these drop). The two tables' passes run side by side:
        each is one backend's work (stemming every row) and they share no rows, so two cores write
        both in about the time of the longer (at 40k passages the articles' took 4.4 s, the
        sentences' 4.7 s; docs/benchmarks.md). Should one fail, the other's postings stand, complete
        and consistent with its pending rows."""
        first = (
            f"SELECT EXISTS (SELECT 1 FROM {PENDING} WHERE source = %s) "
            f"AND NOT EXISTS (SELECT 1 FROM {table.postings}) AS first"
        )
        with self.pool.connection() as conn, conn.transaction():
            if conn.execute(first, [table.source]).fetchone()["first"]:  # type: ignore[index]
                for statement in table.write_first_pending():
                    conn.execute(statement)

    def settle(self, stored: int) -> None:
        """After an ingest that stored ``stored`` sentences, a tenth or more of what the planner
        believes the table holds (a bulk load, a first ingest, a migration): refresh the planner's
        statistics and the visibility map of the tables an ingest writes, as autovacuum would within a
        minute or so. Until then the planner takes them for as small as they were: at 40k passages a
        question took 232 ms right after the load, 24.5 after ANALYZE (0.8 s) and 22 after VACUUM too
        (0.7 s). The planner's own row estimate is read, not a count: a feed's small ingest into a big
        database must not scan the table."""
        believed = self.query("SELECT reltuples FROM pg_class WHERE oid = 'sentences'::regclass")
        if stored and stored * 10 >= max(float(believed[0]["reltuples"]), 0.0):
            log.info("PostgreSQL: refreshing the statistics of the tables an ingest filled")
            with self.pool.connection() as conn:  # autocommit: VACUUM runs outside a transaction
                conn.execute(f"VACUUM (ANALYZE) {', '.join(SETTLED)}")

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Rows of dicts into ``table``, grouped by the columns they name, as sqlite-utils' insert_all;
        a COPY per group, so that a batch's rows travel at once and the keyword-search triggers run
        once for the batch, not once a row as an INSERT per row runs them."""
        groups: dict[tuple[str, ...], list[list[Any]]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(list(row.values()))
        with self._connection() as conn, conn.cursor() as cursor:
            for columns, values in groups.items():
                names = ", ".join(f'"{c}"' for c in columns)
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)


def _meta(row: dict[str, Any]) -> str:
    return json.dumps(row.get("meta") or {}, ensure_ascii=False)
