"""Copying a data dir's SQLite tables and passage vectors into an empty PostgreSQL database
(`newsbot migrate --to`), resumably, and checking the copy by counting.

Every table of index/storage/schema.py is copied with its keys, so wire copies, votes and watches point
where they did, and with every column PostgreSQL's migrations give it (a feed's or a watch's claim too:
a lease, which ends by itself once no process of the old deployment renews it). A table with an integer
key (``pk``; ``feed_items``' ``rowid``) goes in key order, a batch per transaction (COPY), so a run that
was killed goes on after the last key PostgreSQL holds; its identity column then continues past the
largest key. The small tables without one (settings, feeds,
subscriptions, ...) are copied whole in one transaction each, every run: rows replace those with their
key, and a table with no key at all is emptied first. A story whose wire copy was stored before it
(a copy judged again) is pointed at after every article is in.

The postings and term counts keyword search reads fill themselves: the triggers of `text_search` run
once per COPY batch. The passage vectors are those the data dir's FAISS rebuild derives from the
stored sentence and title vectors (the caller's `RebuildSource`; nothing is embedded again), written
as pgvector's rebuild writes them: copied, then indexed (HNSW) once, in one transaction.

The settings row `SOURCE_KEY` says which data dir a database is a copy of, so that a second run goes on
with its own copy and refuses any other database that holds news.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from tqdm import tqdm

from index.core.errors import EngineError
from index.storage.postgres import schema as pg_schema
from index.storage.postgres.dialect import translate
from index.storage.postgres.store import PostgresStore
from index.storage.postgres.urls import masked
from index.storage.postgres.vectors import PgVectorIndex
from index.storage.schema import TABLES
from index.storage.store import Store
from index.storage.vectors import Chunks, RebuildSource

log = logging.getLogger(__name__)

BATCH_ROWS = 2_000  # rows a transaction copies: bounds memory and what a killed run repeats
SOURCE_KEY = "migrated_from"  # settings row: the fingerprint of the data dir a database copies
VECTORS = "passage vectors"  # the name counts and progress give pgvector's table
_START_OVER = (
    "to start over, drop the database and create it empty again (DROP DATABASE ...; CREATE DATABASE ...; "
    "CREATE EXTENSION vector), or give --to another empty database"
)


@dataclass(frozen=True)
class Counted:
    """One table's rows in the data dir and in PostgreSQL once copied."""

    table: str
    source: int
    target: int

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class MigrationReport:
    """What `copy_data_dir` found at the end: every table's counts, the passage vectors last."""

    counts: list[Counted]

    @property
    def differing(self) -> list[Counted]:
        return [c for c in self.counts if not c.equal]


def fingerprint(source: Store) -> str:
    """What tells one data dir's copy from another's: its first stored article and its model. A data
    dir that took more news since keeps it (the copy then goes on with the new rows)."""
    first = source.query("SELECT pk, id, content_hash, ingested_at FROM articles ORDER BY pk LIMIT 1")
    seen = json.dumps([first, source.get_setting("model")], sort_keys=True, default=str)
    return hashlib.sha256(seen.encode()).hexdigest()[:32]


def check_target(target: PostgresStore, source: Store) -> None:
    """Refuse a database this copy must not go into: one of a newer newsbot, one without pgvector, one
    that holds news of its own, or a copy of another data dir (one of a version this newsbot cannot
    read at all `open_store` has refused already). Marks a new one as this data dir's, under the
    store's write lock, so that of two copies started at once into one database one is refused."""
    where = f"the database at {masked(target.url)}"
    applied = _one(target, "SELECT coalesce(max(version), 0) FROM schema_migrations")
    if applied > len(pg_schema.MIGRATIONS):
        raise EngineError(
            f"{where} was made by a newer newsbot (migration {applied}, this one knows "
            f"{len(pg_schema.MIGRATIONS)}): migrate with that version, or into an empty database"
        )
    if not _one(target, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"):
        raise EngineError(
            f"{where} lacks pgvector: run CREATE EXTENSION vector in it (as its owner or a superuser), "
            "then migrate again"
        )
    mine = fingerprint(source)
    with target.transaction():
        theirs = target.get_setting(SOURCE_KEY)
        if theirs == mine:
            log.info("%s holds part of this data dir's copy: going on with it", where)
            return
        if theirs is not None:
            raise EngineError(
                f"{where} holds a copy of another data dir, not of {source.path.parent}: {_START_OVER}"
            )
        held = {t: n for t in TABLES if t != "settings" and (n := target.count(t))}
        held[VECTORS] = _vectors(target)
        held["settings"] = _one(target, "SELECT count(*) FROM settings WHERE key <> 'schema_version'")
        if any(held.values()):
            found = ", ".join(f"{n} {t}" for t, n in held.items() if n)
            raise EngineError(
                f"{where} is not empty (it holds {found}): migrate into an empty database; {_START_OVER}"
            )
        target.set_setting(SOURCE_KEY, mine)


def copy_data_dir(
    source: Store,
    target: PostgresStore,
    vectors: RebuildSource,
    *,
    progress: bool = False,
) -> MigrationReport:
    """Copy every table, then the passage vectors (from ``vectors``, the data dir's rebuild source),
    into ``target`` (checked by `check_target`), going on from where a killed run stopped; the counts
    of both at the end. ``progress`` shows a bar per table."""
    with target.loading():  # into an empty database: the postings are written once, at the end
        for table in TABLES:
            key = pg_schema.ROW_KEYS.get(table)
            columns = _columns(source, target, table, key)
            if key is None:
                _copy_whole(source, target, table, columns, progress)
            else:
                _copy_keyed(source, target, table, key, columns, progress)
            if table == "articles":
                _point_copies_forward(source, target)
    _continue_identities(target)
    _copy_vectors(source, target, vectors, progress)
    target.settle(target.count("sentences"))
    return count(source, target)


def count(source: Store, target: PostgresStore) -> MigrationReport:
    """Every table's rows on both sides (settings without `SOURCE_KEY`), and the passage vectors
    against the data dir's passages."""
    counts = [Counted(t, source.count(t), target.count(t)) for t in TABLES]
    counts[list(TABLES).index("settings")] = Counted(
        "settings",
        source.count("settings"),
        _one(target, "SELECT count(*) FROM settings WHERE key <> ?", [SOURCE_KEY]),
    )
    return MigrationReport([*counts, Counted(VECTORS, source.count("passages"), _vectors(target))])


def _one(target: PostgresStore, sql: str, params: Sequence[Any] = ()) -> int:
    return int(next(iter(target.query(sql, params)[0].values())))


def _vectors(target: PostgresStore) -> int:
    """The passage vectors PostgreSQL holds (0 before pgvector's table is made)."""
    made = target.query("SELECT to_regclass('passage_vectors') IS NOT NULL AS made")[0]["made"]
    return _one(target, "SELECT count(*) FROM passage_vectors") if made else 0


def _columns(source: Store, target: PostgresStore, table: str, key: str | None) -> list[str]:
    """The columns to copy: the key first, then those both sides have (not PostgreSQL's generated
    ones; an old data dir's leftovers, such as feeds' ``name``, stay behind)."""
    theirs = {
        r["column_name"]
        for r in target.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'NEVER'",
            [table],
        )
    }
    mine = [r["name"] for r in source.query(f"PRAGMA table_info([{table}])")]
    left = [c for c in mine if c not in theirs]
    if left:
        log.info("%s: columns %s are not kept in PostgreSQL, left behind", table, ", ".join(left))
    return ([key] if key else []) + [c for c in mine if c in theirs and c != key]


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _copy_rows(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """One batch into ``table`` by COPY (in the caller's transaction)."""
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({_names(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _copy_keyed(
    source: Store,
    target: PostgresStore,
    table: str,
    key: str,
    columns: list[str],
    progress: bool,
) -> None:
    """The rows past the largest key PostgreSQL holds, in key order, a transaction per batch. An
    article's ``copy_of`` naming a later article is left empty here (`_point_copies_forward`)."""
    total, done = source.count(table), target.count(table)
    after = _one(target, f'SELECT coalesce(max("{key}"), -1) FROM "{table}"')
    forward = columns.index("copy_of") if table == "articles" else None
    with tqdm(total=total, initial=done, desc=table, unit=" rows", disable=not progress, leave=False) as bar:
        while rows := source.query(
            f"SELECT {_names(columns)} FROM [{table}] WHERE {key} > ? ORDER BY {key} LIMIT ?",
            [after, BATCH_ROWS],
        ):
            values = [tuple(r.values()) for r in rows]
            if forward is not None:
                values = [
                    (*v[:forward], None, *v[forward + 1 :]) if (v[forward] or 0) > v[0] else v for v in values
                ]
            with target.pool.connection() as conn, conn.transaction():
                _copy_rows(conn, table, columns, values)
            after, done = rows[-1][key], done + len(rows)
            bar.update(len(rows))
    log.info("%s: %d of %d rows in PostgreSQL", table, done, total)


def _copy_whole(source: Store, target: PostgresStore, table: str, columns: list[str], progress: bool) -> None:
    """A small table without an integer key, in one transaction: each row replaces the one with its
    key (`CONFLICT_KEYS`), or, for a table with none, the table's rows are replaced."""
    rows = [
        tuple(r.values()) for r in source.query(f"SELECT {_names(columns)} FROM [{table}] ORDER BY rowid")
    ]
    marks = ", ".join("?" * len(columns))
    replace = table in pg_schema.CONFLICT_KEYS
    insert = translate(
        f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({_names(columns)}) VALUES ({marks})"
    )
    with target.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        if not replace:
            cur.execute(f'DELETE FROM "{table}"')
        if rows:
            cur.executemany(insert.sql, rows)
    if progress:
        tqdm.write(f"{table}: {len(rows)} rows")
    log.info("%s: %d rows in PostgreSQL", table, len(rows))


def _point_copies_forward(source: Store, target: PostgresStore) -> None:
    """Wire copies stored before the story they copy (a copy judged again against a later story) get
    their ``copy_of`` once every article is in; the others were copied with theirs."""
    later = source.query("SELECT copy_of, pk FROM articles WHERE copy_of > pk")
    if later:
        with target.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "UPDATE articles SET copy_of = %s WHERE pk = %s AND copy_of IS DISTINCT FROM %s",
                [(r["copy_of"], r["pk"], r["copy_of"]) for r in later],
            )


def _continue_identities(target: PostgresStore) -> None:
    """Each identity column's next value past the keys copied, so the next insert gets a fresh one."""
    for table, key in pg_schema.ROW_KEYS.items():
        target.query(
            "SELECT setval(pg_get_serial_sequence(?, ?), m) "
            f'FROM (SELECT max("{key}") AS m FROM "{table}") keys WHERE m IS NOT NULL',
            [table, key],
        )


def _copy_vectors(source: Store, target: PostgresStore, vectors: RebuildSource, progress: bool) -> None:
    """The passage vectors and pgvector's HNSW index, as `PgVectorIndex.load` brings a stale table up
    to date (done once: a finished copy's count and generation match, and nothing is written)."""
    model, dim = source.get_setting("model"), source.get_setting("dim")
    if model is None or dim is None:
        return  # nothing was ever embedded
    passages = source.count("passages")
    index = PgVectorIndex(target.pool, model, int(dim))
    with tqdm(total=passages, desc=VECTORS, unit=" vectors", disable=not progress, leave=False) as bar:

        def counted(every: int) -> Chunks:
            for ids, vecs in vectors(every):
                bar.update(len(ids))
                yield ids, vecs

        index.load(passages, counted, generation=source.generation(), persist=True)
    log.info("%s: %d of %d passages in PostgreSQL", VECTORS, _vectors(target), passages)
