"""The passage vectors in pgvector: the FAISS index's surface, with filtered searches that still return
k, and HNSW's recall against exact search."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest
from psycopg_pool import ConnectionPool

from index.storage.postgres.vectors import PgVectorIndex, copy_rows

DIM = 384


def _unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def pool(pg_url: str) -> Iterator[ConnectionPool]:
    with ConnectionPool(pg_url, min_size=1, max_size=4, kwargs={"autocommit": True}) as pool:
        yield pool


def _source(ids: np.ndarray, vectors: np.ndarray):
    return lambda every: iter([(ids[::every], vectors[::every])])


def test_vectors_are_added_searched_and_removed_with_the_cosine_as_score(pool: ConnectionPool) -> None:
    index = PgVectorIndex(pool, "m", DIM)
    index.load(0, _source(np.zeros(0, np.int64), np.zeros((0, DIM), np.float32)), generation=0)
    vectors = _unit(50, 1)
    index.add(np.arange(10, 60), vectors)
    assert index.count == 50 and index.saved and not index.needs_merge
    hits = index.search(vectors[7], 3)
    assert hits[0][0] == 17 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert hits[1][1] == pytest.approx(float(vectors[7] @ vectors[hits[1][0] - 10]), abs=1e-5)
    index.remove([17, 18, 999])
    assert index.count == 48 and 17 not in [pk for pk, _ in index.search(vectors[7], 5)]
    index.add(np.asarray([11]), vectors[7:8])  # a pk added again takes the new vector
    assert index.search(vectors[7], 1)[0][0] == 11
    assert index.search(vectors[7], 0) == [] and index.search(vectors[7], 5, np.zeros(0, np.int64)) == []
    assert index.info["base"] == 48 and index.info["vector_bytes"] > 0


def test_load_brings_the_table_to_the_passages_only_for_the_writer(pool: ConnectionPool) -> None:
    ids, vectors = np.arange(1, 101), _unit(100, 2)
    index = PgVectorIndex(pool, "m", DIM)
    index.load(100, _source(ids, vectors), generation=3)
    assert index.count == 100 and index.generation == 3
    index.remove(ids[:10])  # a crash after the rows' commit: the vectors' change is lost
    index.add(np.asarray([500]), vectors[:1])
    reader = PgVectorIndex(pool, "m", DIM)
    reader.load(100, _source(ids, vectors), generation=4, persist=False)
    assert reader.count == 91  # a reader leaves the table to the writer
    writer = PgVectorIndex(pool, "m", DIM)
    writer.load(100, _source(ids, vectors), generation=4)
    assert writer.count == 100 and 500 not in [pk for pk, _ in writer.search(vectors[0], 5)]
    assert writer.search(vectors[3], 1)[0][0] == 4
    other = PgVectorIndex(pool, "other-model", DIM)  # re-embedded: the old vectors go
    other.load(20, _source(ids[:20], _unit(20, 3)), generation=5)
    assert other.count == 20


def test_binary_copy_rows_are_what_pgvector_reads(pool: ConnectionPool) -> None:
    vectors = np.asarray([[0.5, -1.25, 3.0]], np.float32)
    data = copy_rows(np.asarray([7]), vectors)
    with pool.connection() as conn:
        conn.execute("CREATE TEMP TABLE t (pk BIGINT, vec vector(3))")
        with conn.cursor() as cur, cur.copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(data)
        assert conn.execute("SELECT pk, vec::text FROM t").fetchall() == [(7, "[0.5,-1.25,3]")]


def test_hnsw_recall_at_60_and_filtered_searches_return_k(pool: ConnectionPool, caplog) -> None:
    n, k = 3000, 60
    vectors, queries = _unit(n, 4), _unit(20, 5)
    ids = np.arange(1, n + 1)
    index = PgVectorIndex(pool, "m", DIM)
    index.load(n, _source(ids, vectors), generation=1)
    narrow = PgVectorIndex(pool, "m", DIM, ef_search=k)  # a walk that alone yields k, none to spare
    caplog.set_level(logging.DEBUG, logger="index.storage.postgres.vectors")
    for share in (1.0, 0.5, 0.05):  # none, half (HNSW walks on), one in 20 (PostgreSQL reads them all)
        allowed = ids[np.random.default_rng(6).random(n) < share] if share < 1 else None
        searched = ids if allowed is None else allowed
        recall = []
        for query in queries:
            exact = set(searched[np.argsort(-(vectors[searched - 1] @ query))[:k]].tolist())
            hits = index.search(query, k, allowed)
            assert len(hits) == k and {pk for pk, _ in hits} <= set(searched.tolist())
            recall.append(len(exact & {pk for pk, _ in hits}) / k)
            narrowed = narrow.search(query, k, allowed)
            assert len(narrowed) == k and {pk for pk, _ in narrowed} <= set(searched.tolist())
        assert np.mean(recall) >= 0.95, (share, np.mean(recall))
    assert "exactly" not in caplog.text  # k came from the index scans, not from the exact fallback
    few = ids[:7]  # fewer passages than k pass: every one of them comes back
    assert sorted(pk for pk, _ in index.search(queries[0], k, few)) == few.tolist()


def _has_hnsw(pool: ConnectionPool) -> bool:
    with pool.connection() as conn:
        return conn.execute("SELECT to_regclass('idx_passage_vectors_hnsw') IS NOT NULL").fetchone()[0]


def test_a_bulk_load_into_an_empty_table_builds_hnsw_once_at_its_end(pool: ConnectionPool) -> None:
    ids, vectors = np.arange(1, 301), _unit(300, 7)
    index = PgVectorIndex(pool, "m", DIM)
    index.load(0, _source(ids[:0], vectors[:0]), generation=0)
    assert _has_hnsw(pool)
    with index.loading():
        assert not _has_hnsw(pool)  # copied in without the graph
        index.add(ids[:150], vectors[:150])
        index.add(ids[150:], vectors[150:])
        assert index.search(vectors[5], 1)[0][0] == 6  # searched exactly meanwhile
    assert _has_hnsw(pool) and index.count == 300
    with pool.connection() as conn:
        conn.execute("SET enable_seqscan = off")  # 300 rows: the planner would read them all otherwise
        plan = conn.execute(
            "EXPLAIN SELECT pk FROM passage_vectors ORDER BY vec <#> %s::vector LIMIT 5",
            [str(vectors[0].tolist())],
        ).fetchall()
    assert "idx_passage_vectors_hnsw" in str(plan)
    with index.loading():  # into a table that holds vectors: adds go into the graph as they come
        assert _has_hnsw(pool)
        index.add(np.asarray([301]), vectors[:1])
    index.remove(np.arange(1, 302))
    with pytest.raises(RuntimeError), index.loading():  # a load that fails part way still ends indexed
        index.add(ids[:10], vectors[:10])
        raise RuntimeError("the feed went away")
    assert _has_hnsw(pool) and index.count == 10


def test_a_crashed_bulk_load_is_indexed_by_the_next_writer_not_by_a_reader(pool: ConnectionPool) -> None:
    ids, vectors = np.arange(1, 41), _unit(40, 8)
    index = PgVectorIndex(pool, "m", DIM)
    index.load(40, _source(ids, vectors), generation=2)
    with pool.connection() as conn:  # as `loading` leaves it when its process dies before the build
        conn.execute("DROP INDEX idx_passage_vectors_hnsw")
    reader = PgVectorIndex(pool, "m", DIM)
    reader.load(40, _source(ids, vectors), generation=2, persist=False)
    assert not _has_hnsw(pool) and reader.search(vectors[3], 1)[0][0] == 4
    PgVectorIndex(pool, "m", DIM).load(40, _source(ids, vectors), generation=2)
    assert _has_hnsw(pool)
