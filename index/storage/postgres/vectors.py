"""The passage vectors in PostgreSQL (pgvector): an HNSW index on inner product, shared by every process.

`PgVectorIndex` offers the engine what `index.storage.vectors.PassageIndex` does, with the same score
(the inner product of unit vectors: the cosine). What FAISS needs files, locks and merges for, the
database does itself: an add or removal is committed at once and seen by every process, HNSW takes
inserts and deletions in place (VACUUM tidies its graph), and searches run in parallel on their own
connections. So `save` only records the caller's generation, `merge` does nothing, and `saved` is
always true.

A filtered search (``allowed``: the passages a scope or date filter lets through) filters in SQL during
the index scan, with pgvector 0.8's iterative scans: HNSW keeps walking its graph until ``k`` rows pass
(or ``max_scan_tuples`` were read), instead of cutting at ``ef_search`` and filtering after. Should even
that come back short, the allowed passages are searched exactly, so a search returns
``min(k, len(allowed))`` hits.

The vectors follow the relational rows as FAISS does: the engine adds them once the passages are
committed. A crash in between leaves rows without vectors; `load` (by the writer) finds the count or
generation off and adds what is missing, from the same rebuild source FAISS rebuilds from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from index.storage.vectors import RebuildSource

log = logging.getLogger(__name__)

# HNSW's search breadth: candidates kept while walking the graph. At least k (it caps what one scan
# returns before iterating); 200 gave recall@60 >= 0.95 on random 384-dim vectors, the hardest case.
DEFAULT_EF_SEARCH = 200
# How far an iterative scan may walk for a filter before giving up (then the exact search answers).
DEFAULT_MAX_SCAN_TUPLES = 50_000
KIND = "hnsw"
DDL_LOCK = 0x6E657773_0003  # pg_advisory_xact_lock key: one process at a time makes the vector tables

_TABLE = "passage_vectors"
_STATE = "passage_vector_state"
_HNSW = "idx_passage_vectors_hnsw"
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"


def vector_ddl(dim: int) -> tuple[str, ...]:
    """The vector table for ``dim``-dimensional vectors, its HNSW index, and the one-row state."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_TABLE} (pk BIGINT PRIMARY KEY, vec vector({dim}) NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {_HNSW} ON {_TABLE} USING hnsw (vec vector_ip_ops)",
        f"CREATE TABLE IF NOT EXISTS {_STATE} (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), "
        "model TEXT NOT NULL, dim INTEGER NOT NULL, generation BIGINT)",
    )


def copy_rows(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """(pk, vec) rows in COPY's binary format, pgvector's vector being (dim, 0, float4 * dim), big-endian:
    built by numpy in one go, where formatting a million vectors as text took minutes."""
    n, dim = vectors.shape
    row = np.dtype(
        [
            ("fields", ">i2"),
            ("pk_size", ">i4"),
            ("pk", ">i8"),
            ("vec_size", ">i4"),
            ("dim", ">u2"),
            ("unused", ">u2"),
            ("vec", ">f4", (dim,)),
        ]
    )
    rows = np.zeros(n, row)
    rows["fields"], rows["pk_size"], rows["pk"] = 2, 8, ids
    rows["vec_size"], rows["dim"], rows["vec"] = 4 + 4 * dim, dim, vectors
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).ravel().tolist())) + "]"


class PgVectorIndex:
    """Passage vectors keyed by passage pk, in the database the store uses (its pool's connections)."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        model: str,
        dim: int,
        *,
        ef_search: int = DEFAULT_EF_SEARCH,
        max_scan_tuples: int = DEFAULT_MAX_SCAN_TUPLES,
        read_only: bool = False,
    ) -> None:
        """``read_only``: a replica's (NEWSBOT_DATABASE_READ_URL), read as the primary's writer left it:
        never made or brought up to date here, and, until the primary's tables reach it, empty."""
        self.pool = pool
        self.read_only = read_only
        self.model = model
        self.dim = dim
        self.ef_search = ef_search
        self.max_scan_tuples = max_scan_tuples
        self.generation: int | None = None  # the caller's, as of the last save or load

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        """A cursor in a transaction of its own: one statement or many, all or nothing."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
            yield cur

    @property
    def count(self) -> int:
        with self._cursor() as cur:
            return int(cur.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()[0])  # type: ignore[index]

    @property
    def saved(self) -> bool:
        """Always: every change is committed when it is made."""
        return True

    @property
    def saved_generation(self) -> int | None:
        """The generation the writer's last `save` recorded (None before any): read afresh, so that
        another process learns the vectors have caught up with the store."""
        with self._replicating(), self._cursor() as cur:
            return self._state(cur)[2]
        return None

    def _replicating(self) -> AbstractContextManager[object]:
        """On a replica, a missing table is one the primary has not made yet, or that has not reached
        it: read as empty. Anywhere else it is an error."""
        return suppress(psycopg.errors.UndefinedTable) if self.read_only else nullcontext()

    @property
    def needs_merge(self) -> bool:
        """Never: HNSW takes inserts and deletions in place."""
        return False

    @property
    def outgrown(self) -> bool:
        """Never: an HNSW graph has no lists trained for a corpus size."""
        return False

    @property
    def info(self) -> dict[str, object]:
        """What stats show, in `PassageIndex.info`'s keys: the vectors and the bytes of table and index."""
        with self._cursor() as cur:
            count, size = cur.execute(
                f"SELECT count(*), pg_total_relation_size('{_TABLE}') FROM {_TABLE}"
            ).fetchone()  # type: ignore[misc]
        return {
            "kind": KIND,
            "index": KIND,
            "table": _TABLE,  # where the vectors are kept (FAISS's: stats' index "file")
            "nlist": None,
            "nprobe": None,
            "ef_search": self.ef_search,
            "base": int(count),
            "removed": 0,
            "delta": 0,
            "generation": self.generation,
            "vector_bytes": int(size),
        }

    def load(
        self,
        expected_count: int,
        rebuild: RebuildSource,
        generation: int | None = None,
        *,
        persist: bool = True,
        behind_ok: bool = False,
    ) -> None:
        """Make the tables if need be, and, for the writer (``persist``), bring them to the store's
        passages when their count or recorded generation is off: vectors of another model or dimension
        are dropped, the missing are added from ``rebuild``, those of passages gone are deleted, and
        those changed (a reindex) are replaced. A reader uses the table as it is, at the generation the
        writer last saved (`saved_generation`): the writer's vectors are everyone's as soon as it
        commits, so ``behind_ok`` changes nothing. A replica's is only ever read (never ``persist``)."""
        persist = persist and not self.read_only
        with self._cursor() as cur:
            tables_missing, unindexed = cur.execute(
                "SELECT to_regclass(%s) IS NULL OR to_regclass(%s) IS NULL, to_regclass(%s) IS NULL",
                [_TABLE, _STATE, _HNSW],
            ).fetchone()  # type: ignore[misc]
            if tables_missing:
                if self.read_only:  # not there yet: searched as empty (`_replicating`) until it is
                    self.generation = None
                    return
                # A new database, opened by processes at once: one makes the tables, the others wait.
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [DDL_LOCK])
                for statement in vector_ddl(self.dim):
                    cur.execute(statement)
            state = self._state(cur)
            count = int(cur.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()[0])  # type: ignore[index]
        current = tuple(state[:2]) == (self.model, self.dim)
        if not persist:
            self.generation = state[2] if current else None
            return
        if not (current and count == expected_count and state[2] == generation):
            why = f"{count} vectors of {expected_count} passages, generation {state[2]}, not {generation}"
            if state[0] is not None and not current:
                why = f"vectors of {state[0]} ({state[1]} dimensions), not {self.model}"
            log.info("pgvector index: %s; bringing it up to date", why)
            self._rebuild(rebuild, fresh=state[0] is not None and not current)
            self.save(generation)
        elif unindexed:  # a bulk load (`loading`) that ended before its index was built
            self._build_index()
        self.generation = generation

    @staticmethod
    def _state(cur: psycopg.Cursor[Any]) -> tuple[str | None, int | None, int | None]:
        """(model, dim, generation) as the writer last saved them; all None before its first save."""
        row = cur.execute(f"SELECT model, dim, generation FROM {_STATE}").fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def _rebuild(self, rebuild: RebuildSource, *, fresh: bool) -> None:
        """Add the passages ``rebuild`` yields that the table lacks and delete the rest; ``fresh``
        (another model's vectors) empties it first. Into an empty table the vectors are copied before
        the HNSW index is built, which is several times faster than inserting into the graph."""
        with self._cursor() as cur:
            if fresh:
                cur.execute(f"DROP TABLE IF EXISTS {_TABLE}")
                cur.execute(f"DELETE FROM {_STATE}")
            for statement in vector_ddl(self.dim)[:1]:
                cur.execute(statement)
            self._unindex_if_empty(cur)
            kept: list[np.ndarray] = []
            for ids, vectors in rebuild(1):
                kept.append(ids)
                self._write(cur, ids, vectors)
            every = np.concatenate(kept) if kept else np.zeros(0, np.int64)
            cur.execute(
                f"DELETE FROM {_TABLE} v WHERE NOT EXISTS "
                "(SELECT 1 FROM unnest(%s::bigint[]) AS k(pk) WHERE k.pk = v.pk)",
                [every.tolist()],
            )
            cur.execute(vector_ddl(self.dim)[1])

    @staticmethod
    def _unindex_if_empty(cur: psycopg.Cursor[Any]) -> bool:
        """Drop the HNSW index when the table is empty, as a bulk load into it begins: whether it did."""
        empty = bool(cur.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {_TABLE})").fetchone()[0])  # type: ignore[index]
        if empty:
            cur.execute(f"DROP INDEX IF EXISTS {_HNSW}")
        return empty

    def _build_index(self) -> None:
        """Build the HNSW index, once: another writer building it meanwhile is waited for."""
        log.info("pgvector index: building HNSW over %d vectors", self.count)
        with self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [DDL_LOCK])
            cur.execute(vector_ddl(self.dim)[1])

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Around the adds of an ingest: a bulk load into an empty table copies its vectors in without
        the HNSW index and builds the index once they are in (also when the load fails part way; a
        crash leaves it to the writer's next `load`), as pgvector advises: 2.8 times as fast as inserting
        each of 50,000 into the graph, and a 10,000-passage ingest 1.8 times as fast (docs/benchmarks.md).
        Meanwhile searches read the table exactly. Into a table that holds vectors, adds go into the
        graph as they come."""
        with self._cursor() as cur:
            deferred = self._unindex_if_empty(cur)
        try:
            yield
        finally:
            if deferred:
                self._build_index()

    def _write(self, cur: psycopg.Cursor[Any], ids: np.ndarray, vectors: np.ndarray) -> None:
        """Copy rows through a scratch table, then upsert them: a pk's vector is replaced only where it
        changed (an add repeated after a crash, or a rebuild, rewrites nothing; a reindex its changes)."""
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS incoming_vectors (LIKE {_TABLE}) ON COMMIT DELETE ROWS")
        with cur.copy("COPY incoming_vectors (pk, vec) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(copy_rows(np.asarray(ids, np.int64), np.asarray(vectors, np.float32)))
        cur.execute(
            f"INSERT INTO {_TABLE} AS t SELECT * FROM incoming_vectors ON CONFLICT (pk) DO UPDATE "
            "SET vec = excluded.vec WHERE t.vec IS DISTINCT FROM excluded.vec"
        )
        cur.execute("TRUNCATE incoming_vectors")

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Store vectors under their pks (one replaces a pk's vector: a repeated add after a crash)."""
        if not len(ids):
            return
        with self._cursor() as cur:
            self._write(cur, ids, vectors)

    def remove(self, ids: Any) -> None:
        """Delete these pks' vectors."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if len(ids):
            with self._cursor() as cur:
                cur.execute(f"DELETE FROM {_TABLE} WHERE pk = ANY(%s::bigint[])", [ids.tolist()])

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (passage pk, cosine) pairs, best first; ``allowed`` restricts the search before the cut."""
        if k <= 0 or (allowed is not None and not len(allowed)):
            return []
        vector = _literal(query)
        where, params = "", []
        if allowed is not None:
            where, params = "WHERE pk = ANY(%s::bigint[])", [np.asarray(allowed, np.int64).tolist()]
        rows: list[tuple[Any, ...]] = []
        with self._replicating(), self._cursor() as cur:
            cur.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('hnsw.max_scan_tuples', %s, true)",
                [str(max(self.ef_search, k)), str(self.max_scan_tuples)],
            )
            rows = cur.execute(
                f"SELECT pk, -(vec <#> %s::vector) FROM {_TABLE} {where} "
                "ORDER BY vec <#> %s::vector LIMIT %s",
                [vector, *params, vector, k],
            ).fetchall()
            if allowed is not None and len(rows) < min(k, len(allowed)):
                # The walk gave up before k passed: exact over the allowed (ordering by an expression
                # the index does not hold makes PostgreSQL compute every allowed distance).
                log.debug("index scan found %d of %d allowed passages: searching them exactly", len(rows), k)
                rows = cur.execute(
                    f"SELECT pk, -(vec <#> %s::vector) AS score FROM {_TABLE} {where} "
                    "ORDER BY score DESC, pk LIMIT %s",
                    [vector, *params, k],
                ).fetchall()
        hits = [(int(pk), float(score)) for pk, score in rows]
        hits.sort(key=lambda hit: -hit[1])  # relaxed order: the scan may return near-ties out of order
        return hits

    def save(self, generation: int | None = None) -> None:
        """Record the caller's generation (the vectors themselves are committed already)."""
        with self._cursor() as cur:
            cur.execute(
                f"INSERT INTO {_STATE} (one, model, dim, generation) VALUES (true, %s, %s, %s) "
                "ON CONFLICT (one) DO UPDATE SET model = excluded.model, dim = excluded.dim, "
                "generation = excluded.generation",
                [self.model, self.dim, generation],
            )
        self.generation = generation

    def merge(self) -> None:
        """Nothing to fold: HNSW takes changes in place."""
