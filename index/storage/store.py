"""SQLite (via sqlite-utils): the source of truth for articles, passages, sentences and vectors.

Everything the FAISS index holds can be rebuilt from here without re-embedding: sentence vectors and
title vectors are stored as float32 blobs next to the text they came from.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from index.core.dates import iso_day
from index.core.models import ArticleKey
from index.storage import schema
from index.storage.schema import SCHEMA_VERSION as SCHEMA_VERSION
from index.storage.sqlite_config import stop_memory_statistics

# Page caches sized for a million-passage (3 GB) database; SQLite's default is 2 MB a connection.
# The writer's (256 MB) holds the FTS5 and index b-tree pages an ingest keeps touching: every chunk
# inserts thousands of random keys (sentence keys, content hashes), and with 64 MB a 1M-passage build
# slowed to 3,500-4,000 sentences/s in its second half, against 4,900-5,900 with 256. Readers map the file
# instead: pages are shared with the OS cache and every other reader, not copied per connection.
# synchronous=NORMAL in WAL mode skips a sync per commit; a power cut may undo the last commits,
# never corrupt the file, and the index manifest's change generation then shows the vectors ahead.
_WRITER_PRAGMAS = ("synchronous=NORMAL", "cache_size=-262144", "foreign_keys=ON")
_READER_PRAGMAS = ("mmap_size=1073741824", "cache_size=-16384")
# Stories a wire-copy check reads per sentence: a boilerplate line ("Follow us on X") is printed by
# thousands, and reading them all made every ingest slower as the corpus grew.
HOLDERS_CHECKED = 64


@dataclass(frozen=True)
class Filters:
    """Restrictions applied before any top-k cut: the scope (shared news, plus a Discord server's own
    when ``scope`` names one), the outlet, the published date range. A scope always applies, so a
    `Filters` always restricts: a server's own news must never surface anywhere else."""

    outlet: str | None = None
    since: str | None = None
    until: str | None = None
    scope: str | None = None

    def __post_init__(self) -> None:
        """Dates must be real YYYY-MM-DD days: anything else would compare wrongly, as strings, in SQL."""
        for name in ("since", "until"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, iso_day(getattr(self, name), name))
        if self.since and self.until and self.since > self.until:
            raise ValueError(
                f"`since` ({self.since}) is after `until` ({self.until}): nothing can be in between."
            )

    def scopes(self, alias: str = "a") -> list[tuple[str, list[str]]]:
        """One WHERE fragment per scope a question sees (shared news, then the server's own), for
        queries that want each as its own index range rather than their OR."""
        shared = (f"{alias}.scope IS NULL", [])
        return [shared] if self.scope is None else [shared, (f"{alias}.scope = ?", [self.scope])]

    def sql(self, alias: str = "a") -> tuple[str, list[str]]:
        """A WHERE fragment over the articles table, and its parameters."""
        scopes = self.scopes(alias)
        either = " OR ".join(clause for clause, _ in scopes)
        clauses = [f"({either})" if len(scopes) > 1 else either]
        params = [p for _, scope_params in scopes for p in scope_params]
        if self.outlet:  # the story's own outlet or any outlet that carried a copy of it
            clauses.append(
                f"(lower({alias}.source) = lower(?) OR EXISTS (SELECT 1 FROM articles c "
                f"WHERE c.copy_of = {alias}.pk AND lower(c.source) = lower(?)))"
            )
            params += [self.outlet, self.outlet]
        if self.since:
            clauses.append(f"{published_day(alias)} >= ?")
            params.append(self.since)
        if self.until:
            clauses.append(f"{published_day(alias)} <= ?")
            params.append(self.until)
        return " AND ".join(clauses), params


FOUND = ("pk", "id", "url", "source", "content_hash", "copy_of")  # the columns of a `find_existing` row


def found_ways() -> list[tuple[str, str]]:
    """How `Store.find_existing_many` finds the stored article a key ``k`` is, best first (same id,
    URL, text): per way the columns selected of its match ``a`` (the way's rank and name, and
    `FOUND`), and the condition matching it."""
    found = ", ".join(f"a.{column}" for column in FOUND)
    return [
        (
            f"{rank} AS rank, '{way}' AS \"by\", {found}",
            f"a.{way} = k.{way} AND coalesce(a.scope, '') = k.scope",
        )
        for rank, way in enumerate(("id", "url", "content_hash"))
    ]


def scope_clause(column: str, scope: str | None) -> tuple[str, list[str]]:
    """A WHERE fragment for rows of exactly ``scope`` (None: shared news), and its parameter. Unlike
    `Filters.scopes` (what a question in a scope sees: shared news too) it matches one scope alone; it
    is written as the unique indexes on ``coalesce(scope, '')`` are, so those serve it."""
    return f"coalesce({column}, '') = ?", [scope or ""]


def claimant() -> str:
    """A name for one claimer of rows (`Store.claim`), unique across machines: the host and process,
    which an operator reads in ``claimed_by``, then a random part, so two in one process differ."""
    return f"{socket.gethostname()} pid {os.getpid()} {secrets.token_hex(4)}"


def published_day(alias: str = "a") -> str:
    """SQL for the day an article was published, as it states it ("2005-03-01T23:00-05:00" is on
    2005-03-01), as a real YYYY-MM-DD day or NULL: text that is no date ("last week", kept by data dirs
    made before dates were checked) never compares or sorts as one. An empty alias gives the bare
    column, as the index on this expression needs."""
    day = f"substr({alias + '.' if alias else ''}published, 1, 10)"
    return f"(CASE WHEN date({day}) = {day} THEN {day} END)"


def fts_match(words: Sequence[str]) -> str | None:
    """An FTS5 MATCH expression OR-ing these words, each quoted so none is syntax."""
    quoted = [w.replace('"', "") for w in words]
    return " OR ".join(f'"{w}"' for w in quoted if w) or None


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


class Store:
    """One SQLite database, shared by threads.

    The lock story: writes go through one connection (`db`) behind `lock`, a transaction at a time.
    Reads (`query`, `count`, `get_setting`) go through a connection of the reading thread's own, in
    WAL mode, so questions on several threads read in parallel and never wait for a writer; each read
    sees what was committed when it began. A thread inside `transaction` reads through the writer's
    connection, so it sees its own uncommitted rows.
    """

    def __init__(self, path: Path) -> None:
        stop_memory_statistics()  # before the first connection, so reads on threads run in parallel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
        self.db.enable_wal()
        for pragma in _WRITER_PRAGMAS:
            self.db.execute(f"PRAGMA {pragma}")
        self.lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        # A data dir this version cannot read is left untouched: the engine refuses it, saying why.
        self.readable = schema.readable(self.db.conn)
        schema.migrate(self.db.conn)

    def close(self) -> None:
        """Once any write in progress on another thread is done."""
        with self.lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self.db.close()

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection; None while it is writing (then it must see its own rows)."""
        if getattr(self._local, "writing", False):
            return None
        reader = getattr(self._local, "reader", None)
        if reader is None:
            # check_same_thread=False only so that `close` may close it from another thread
            reader = sqlite3.connect(self.path, check_same_thread=False)
            reader.row_factory = _dict_row
            for pragma in _READER_PRAGMAS:
                reader.execute(f"PRAGMA {pragma}")
            with self.lock:
                self._readers.append(reader)
            self._local.reader = reader
        return reader

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing writes: an ingest batch lands whole or not at all. Nested in another (a
        savepoint), it commits only with the outer one, and reads go on seeing its rows until then."""
        with self.lock, self.db.atomic():
            outer = getattr(self._local, "writing", False)
            self._local.writing = True
            try:
                yield
            finally:
                self._local.writing = outer

    # -- key/value settings (model name, dimension, last ingest) --------------------------------

    def get_setting(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM settings WHERE key = ?", [key])
        return rows[0]["value"] if rows else None

    def last_ingest(self, scope: str | None) -> str | None:
        """When the news ``scope`` sees (shared news, and a server's own) last took an article."""
        keys = {_last_ingest_key(None), _last_ingest_key(scope)}
        marks = ", ".join("?" * len(keys))
        rows = self.query(f"SELECT max(value) AS value FROM settings WHERE key IN ({marks})", list(keys))
        return rows[0]["value"]

    def set_last_ingest(self, scopes: Iterable[str | None], when: str) -> None:
        """Note that articles were stored into each of ``scopes`` at ``when`` (an ISO time in UTC)."""
        with self.lock, self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(_last_ingest_key(scope), when) for scope in scopes],
            )

    def generation(self) -> int:
        """The change generation: bumped by every committed write the passage index must follow."""
        return int(self.get_setting("generation") or 0)

    def bump_generation(self) -> int:
        """The next generation, written in the caller's transaction (so it commits with the rows)."""
        value = self.generation() + 1
        self.db.execute(
            "INSERT INTO settings(key, value) VALUES ('generation', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [str(value)],
        )
        return value

    def set_setting(self, key: str, value: str) -> None:
        with self.lock:
            self.db["settings"].upsert({"key": key, "value": value}, pk="key")

    # -- reads ---------------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        reader = self._reader()
        if reader is not None:
            return reader.execute(sql, list(params)).fetchall()
        with self.lock:
            return list(self.db.query(sql, list(params)))

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """One statement through the writer's connection, inside `transaction`; the cursor tells the
        rows it changed (``rowcount``) and the key it made (``lastrowid``)."""
        return self.db.execute(sql, list(params))

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement once per row of parameters, inside `transaction`."""
        self.db.conn.executemany(sql, rows)

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
        """See `NewsStore.claim`: one UPDATE ... RETURNING in a write transaction of its own, which
        SQLite's single writer makes atomic across processes. It waits for a write transaction in
        progress, as every write here does (one ingest chunk: seconds at most)."""
        if not keys:
            return []
        key = schema.CLAIMS[table]
        free = "" if force else " AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)"
        with self.transaction():
            rows = self.db.execute(
                f"UPDATE {table} SET claimed_by = ?, claimed_until = ? "
                f"WHERE {key} IN (SELECT value FROM json_each(?)){free} RETURNING {key}",
                [claimant, until, json.dumps(list(keys)), *([] if force else [now, claimant])],
            ).fetchall()
        return [row[0] for row in rows]

    def find_existing(
        self, article_id: str | None, url: str | None, content_hash: str, scope: str | None = None
    ) -> dict | None:
        """One article's `find_existing_many`."""
        return self.find_existing_many([ArticleKey(article_id, url, content_hash, scope)])[0]

    def find_existing_many(self, keys: Sequence[ArticleKey]) -> list[dict | None]:
        """For each key, the stored article of the same scope that is the same one: same id, else same
        URL, else same text (a story before its copy). Never one of another scope: an upload must not
        replace or shadow its articles.

        A row says how it matched in ``by`` ("id", "url" or "content_hash"). One statement for all the
        keys, each way its own indexed join: an ingest asks this of every article, a look-ahead of them
        at a time, and on PostgreSQL each statement is a round trip.
        """
        if not keys:
            return []
        first: list[dict | None] = [None] * len(keys)
        for row in self.query(*self._found(keys)):
            i = row.pop("i")
            if first[i] is None:
                first[i] = row
        return first

    @staticmethod
    def _found(keys: Sequence[ArticleKey]) -> tuple[str, list[Any]]:
        """`find_existing_many`'s statement: the keys (i from 0, scope '' for shared news, as the
        unique indexes on ``coalesce(scope, '')`` have it) joined to their matches, best first. SQLite
        plans each join as index look-ups."""
        branches = [
            f"SELECT k.i, {columns} FROM k JOIN articles a ON {condition}"
            for columns, condition in found_ways()
        ]
        keyed = (
            "SELECT key AS i, json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS url, "
            "json_extract(value, '$[2]') AS content_hash, coalesce(json_extract(value, '$[3]'), '') AS scope "
            "FROM json_each(?)"
        )
        return (
            f'WITH k AS ({keyed}) SELECT i, "by", {", ".join(FOUND)} FROM ({" UNION ALL ".join(branches)}) '
            "found ORDER BY i, rank, copy_of IS NOT NULL",
            [json.dumps(keys)],
        )

    def near_duplicates(self, norms: Sequence[str], overlap: float, scope: str | None = None) -> list[dict]:
        """One article's `near_duplicates_many`."""
        return self.near_duplicates_many([(norms, scope)], overlap)[0]

    def near_duplicates_many(
        self, articles: Sequence[tuple[Sequence[str], str | None]], overlap: float
    ) -> list[list[dict]]:
        """For each article's (normalised sentences, scope), the stored stories (not copies) of that
        scope that share at least ``overlap`` of its sentences and of their own, most shared first:
        every one, since the best may be from the same outlet.

        Bounded by the article, not the corpus: a story sharing ``overlap`` of the n sentences holds at
        least one of any n - ceil(overlap * n) + 1 of them, so only the holders of that many of the
        rarest are candidates, and how many each shares is counted from the holder lists already read
        (one statement for all the articles; an article with candidates asks more, one alone). Of a
        sentence more than `HOLDERS_CHECKED` stories print (boilerplate) only the newest that many are
        candidates, so an article made of nothing but boilerplate may miss an older story it copies.
        """
        wanted = [sorted(set(norms)) for norms, _ in articles]
        every = sorted(set().union(*wanted))
        holders = self._holders(every) if every else {}
        return [
            self._near_duplicates(distinct, holders, overlap, scope) if distinct else []
            for distinct, (_, scope) in zip(wanted, articles, strict=True)
        ]

    def _near_duplicates(
        self, distinct: list[str], holders: Mapping[str, list[int]], overlap: float, scope: str | None
    ) -> list[dict]:
        """`near_duplicates_many` for one article, given the holders of its sentences."""
        needed = math.ceil(overlap * len(distinct) - 1e-9)
        rarest = sorted(distinct, key=lambda norm: len(holders[norm]))[: len(distinct) - needed + 1]
        candidates = sorted({pk for norm in rarest for pk in holders[norm][:HOLDERS_CHECKED]})
        if not candidates:
            return []
        complete = [set(holders[norm]) for norm in distinct if len(holders[norm]) <= HOLDERS_CHECKED]
        unread = [norm for norm in distinct if len(holders[norm]) > HOLDERS_CHECKED]
        known = {pk: sum(pk in held for held in complete) for pk in candidates}
        sharing = [pk for pk in candidates if known[pk] >= needed]
        undecided = [pk for pk in candidates if known[pk] < needed <= known[pk] + len(unread)]
        if undecided:  # how many of the boilerplate sentences they print decides
            held = self._norms_held(unread, undecided)
            sharing += [pk for pk, n in held.items() if known[pk] + n >= needed]
        return self._sharing(sharing, distinct, overlap, scope) if sharing else []

    def _norms_held(self, norms: list[str], pks: list[int]) -> dict[int, int]:
        """How many of ``norms`` each of the stories ``pks`` prints (`near_duplicates`' SQL, one of
        three pieces a PostgreSQL store writes in its own)."""
        rows = self.query(
            "SELECT article_pk, count(DISTINCT norm) AS n FROM sentences "
            "WHERE norm IN (SELECT value FROM json_each(?)) "
            "AND article_pk IN (SELECT value FROM json_each(?)) GROUP BY article_pk",
            [json.dumps(norms), json.dumps(pks)],
        )
        return {r["article_pk"]: r["n"] for r in rows}

    def _sharing(self, pks: list[int], norms: list[str], overlap: float, scope: str | None) -> list[dict]:
        """Of the stories ``pks`` (not copies, of exactly ``scope``), those sharing ``overlap`` of
        ``norms`` and of their own sentences, with the counts, most shared first."""
        exact, params = scope_clause("a.scope", scope)
        return self.query(
            "SELECT s.article_pk AS pk, a.id, a.source, count(DISTINCT s.norm) AS shared, "
            "(SELECT count(DISTINCT t.norm) FROM sentences t WHERE t.article_pk = s.article_pk) AS total "
            "FROM articles a NOT INDEXED JOIN sentences s ON s.article_pk = a.pk "  # by pk, not scope
            "WHERE a.pk IN (SELECT value FROM json_each(?)) AND s.norm IN (SELECT value FROM json_each(?)) "
            f"AND a.copy_of IS NULL AND {exact} "
            "GROUP BY s.article_pk HAVING shared >= ? AND shared >= ? * total ORDER BY shared DESC, pk",
            [json.dumps(pks), json.dumps(norms), *params, overlap * len(norms), overlap],
        )

    def _holders(self, norms: list[str]) -> dict[str, list[int]]:
        """The stories printing each sentence, newest first: `HOLDERS_CHECKED` + 1 at most, so that a
        longer list shows the sentence is printed by more. One statement of fixed text (so prepared
        once), read from the (norm, article_pk) index alone."""
        rows = self.query(
            "SELECT q.value AS norm, (SELECT group_concat(article_pk) FROM (SELECT article_pk FROM "
            "sentences WHERE norm = q.value ORDER BY article_pk DESC LIMIT ?)) AS held FROM json_each(?) q",
            [HOLDERS_CHECKED + 1, json.dumps(norms)],
        )
        return {
            r["norm"]: sorted(map(int, r["held"].split(",")), reverse=True) if r["held"] else [] for r in rows
        }

    def sentence_norms(self, article_pk: int) -> set[str]:
        return {
            r["norm"] for r in self.query("SELECT norm FROM sentences WHERE article_pk = ?", [article_pk])
        }

    def copies_of(self, pks: Sequence[int]) -> list[dict]:
        """The wire copies of these stories, whole rows but for vectors, in pk order."""
        if not pks:
            return []
        marks = ",".join("?" * len(pks))
        return self.query(
            "SELECT pk, id, title, text, url, source, published, content_hash, meta, copy_of, scope "
            f"FROM articles WHERE copy_of IN ({marks}) ORDER BY pk",
            list(pks),
        )

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) AS n FROM [{table}]")[0]["n"])

    def article_in_scope(self, ref: str, scope: str | None) -> dict | None:
        """The article of exactly this scope whose id or URL is ``ref`` (a story before a copy)."""
        exact, params = scope_clause("scope", scope)
        rows = self.query(
            "SELECT pk, id, title, url, copy_of FROM articles WHERE (id = ? OR url = ?) "
            f"AND {exact} ORDER BY id = ? DESC, copy_of IS NOT NULL LIMIT 1",
            [ref, ref, *params, ref],
        )
        return rows[0] if rows else None

    # -- keyword search: FTS5 (porter stems) and its BM25 ----------------------------------------

    def keyword_stories(self, words: Sequence[str], filters: Filters, limit: int) -> list[int]:
        """See `NewsStore.keyword_stories`: FTS5's own rank, its BM25."""
        match = fts_match(words)
        if not match:
            return []
        where, params = filters.sql()
        rows = self.query(
            "SELECT s.article_pk FROM sentences_fts f JOIN sentences s ON s.pk = f.rowid "
            f"JOIN articles a ON a.pk = s.article_pk WHERE sentences_fts MATCH ? AND {where} "
            "ORDER BY f.rank LIMIT ?",
            [match, *params, limit],
        )
        return [r["article_pk"] for r in rows]

    def keyword_scores(self, words: Sequence[str], article_pks: Sequence[int]) -> dict[int, float]:
        """See `NewsStore.keyword_scores`: FTS5's bm25 with the title column weighing 2, the text 1."""
        match = fts_match(words)
        if not match or not article_pks:
            return {}
        marks = ",".join("?" * len(article_pks))
        rows = self.query(
            f"SELECT rowid, -bm25(articles_fts, 2.0, 1.0) AS score FROM articles_fts "
            f"WHERE articles_fts MATCH ? AND rowid IN ({marks})",
            [match, *article_pks],
        )
        return {r["rowid"]: r["score"] for r in rows}

    def sentence_term_counts(self, terms: Mapping[str, str]) -> dict[str, int]:
        """See `NewsStore.sentence_term_counts`: a seek per stem in FTS5's vocabulary table."""
        wanted = sorted(terms)
        if not wanted:
            return {}
        rows = self.query(
            f"SELECT term, doc FROM sentences_fts_vocab WHERE term IN ({','.join('?' * len(wanted))})",
            wanted,
        )
        found = {r["term"]: r["doc"] for r in rows}
        return {stem: found.get(stem, 0) for stem in wanted}

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Around an ingest or a migration: nothing to defer, FTS5 indexes a row as it comes."""
        yield

    def settle(self, stored: int) -> None:
        """Nothing: SQLite's plans here do not wait on statistics (a question right after a bulk load
        is as fast as later ones, bench/scale.py)."""

    # -- writes (call inside `transaction`) ----------------------------------------------------

    def next_article_pk(self) -> int:
        """The first pk past every article, for a writer numbering a batch as `next_passage_pk` does."""
        return self.db.execute("SELECT coalesce(max(pk), 0) + 1 FROM articles").fetchone()[0]

    def insert_articles(self, rows: list[dict[str, Any]]) -> None:
        """Rows carry their pk (from `next_article_pk`): one bulk insert."""
        rows = [{**row, "meta": json.dumps(row.get("meta") or {}, ensure_ascii=False)} for row in rows]
        self.db["articles"].insert_all(rows, batch_size=100)

    def replace_article(self, pk: int, row: dict[str, Any]) -> list[int]:
        """Give a stored article new text in place (its pk, so its wire copies, stay); drops its old
        sentences and passages and returns the removed passage pks."""
        passage_pks = [r[0] for r in self.db.execute("SELECT pk FROM passages WHERE article_pk = ?", [pk])]
        self.db.execute("DELETE FROM passages WHERE article_pk = ?", [pk])
        self.db.execute("DELETE FROM sentences WHERE article_pk = ?", [pk])
        self.db["articles"].update(pk, {**row, "meta": json.dumps(row.get("meta") or {}, ensure_ascii=False)})
        return passage_pks

    def delete_articles(self, pks: Sequence[int]) -> list[int]:
        """Delete articles with their sentences and passages (FTS rows go with them, by trigger);
        returns the removed passage pks. Copies must come before the story they copy."""
        removed: list[int] = []
        for pk in pks:
            removed += [r[0] for r in self.db.execute("SELECT pk FROM passages WHERE article_pk = ?", [pk])]
            self.db.execute("DELETE FROM passages WHERE article_pk = ?", [pk])
            self.db.execute("DELETE FROM sentences WHERE article_pk = ?", [pk])
            self.db.execute("DELETE FROM articles WHERE pk = ?", [pk])
        return removed

    def insert_sentences(self, rows: list[dict[str, Any]]) -> None:
        self.db["sentences"].insert_all(rows, batch_size=500)

    def next_passage_pk(self) -> int:
        """The first pk past every passage: the writer numbers a batch itself, so FAISS learns each pk."""
        return self.db.execute("SELECT coalesce(max(pk), 0) + 1 FROM passages").fetchone()[0]

    def insert_passages(self, rows: list[dict[str, Any]]) -> None:
        """Rows carry their pk (from `next_passage_pk`): one bulk insert, no per-row round trip."""
        self.db["passages"].insert_all(rows, batch_size=1000)


def _last_ingest_key(scope: str | None) -> str:
    """Shared news keeps the key that versions before kept for every scope: a data dir they wrote
    then shows that time as shared news's, not as no ingest at all."""
    return "last_ingest" if scope is None else f"last_ingest:{scope}"
