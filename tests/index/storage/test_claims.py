"""`NewsStore.claim` on both backends: a row is taken by one claimer until its claim ends, however many
stores (processes) ask at once; and on PostgreSQL a claim waits neither for a long write transaction
nor for a row another claim is taking."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from index.storage.interface import NewsStore
from index.storage.postgres.store import WRITE_LOCK, PostgresStore
from index.storage.store import claimant

FEEDS = [f"https://feed{n}.example/rss" for n in range(6)]
T = 1_000_000.0  # epoch seconds: claims compare the times they are given
WAIT = 30.0  # seconds anything a test waits for may take on a busy machine


@pytest.fixture
def open_store(open_backend_store: Callable[[], NewsStore]) -> Callable[[], NewsStore]:
    """Opens another store over the same database (another process's view of it), with the feeds."""
    first = open_backend_store()
    with first.transaction():
        first.execute_many(
            "INSERT INTO feeds (url, added_at) VALUES (?, '2024-05-01T12:00:00+00:00')", [[u] for u in FEEDS]
        )
    return open_backend_store


def _holders(store: NewsStore) -> dict[str, str | None]:
    return {r["url"]: r["claimed_by"] for r in store.query("SELECT url, claimed_by FROM feeds")}


def test_a_row_is_one_claimers_until_its_claim_ends(open_store: Callable[[], NewsStore]) -> None:
    one, other = open_store(), open_store()
    me, you = claimant(), claimant()
    assert me != you
    assert sorted(one.claim("feeds", FEEDS[:2], me, T, T + 60)) == FEEDS[:2]
    assert other.claim("feeds", FEEDS[:3], you, T + 1, T + 61) == [FEEDS[2]]  # the third alone was free
    assert sorted(one.claim("feeds", FEEDS[:2], me, T + 30, T + 90)) == FEEDS[:2]  # the holder renews
    assert other.claim("feeds", FEEDS[:2], you, T + 89, T + 150) == []  # renewed until T + 90
    assert sorted(other.claim("feeds", FEEDS[:2], you, T + 90, T + 150)) == FEEDS[:2]  # ended: free
    assert sorted(one.claim("feeds", FEEDS[:3], me, T + 91, T + 95, force=True)) == FEEDS[:3]
    assert _holders(other) == {**dict.fromkeys(FEEDS[:3], me), **dict.fromkeys(FEEDS[3:])}
    assert one.claim("feeds", [], me, T, T + 60) == []
    assert one.claim("feeds", ["https://unknown.example/rss"], me, T, T + 60) == []


def test_a_watch_is_claimed_by_its_key(open_store: Callable[[], NewsStore]) -> None:
    store = open_store()
    with store.transaction():
        pk = store.execute(
            "INSERT INTO watches (query, scope, channel, created_at, last_pk) VALUES ('q', '1', 2, 'now', 0)"
        ).lastrowid
    assert store.claim("watches", [pk, pk + 1], "me", T, T + 60) == [pk]
    assert store.claim("watches", [pk], "you", T, T + 60) == []


def test_stores_claiming_at_once_take_each_row_once(open_store: Callable[[], NewsStore]) -> None:
    stores = [open_store() for _ in range(4)]
    start = threading.Barrier(len(stores))

    def claim(store: NewsStore) -> list[str]:
        taken: list[str] = []
        name = claimant()
        start.wait(WAIT)
        for _ in range(5):  # each row asked for again and again, all at once
            taken += store.claim("feeds", FEEDS, name, T, T + 60)
        return taken

    with ThreadPoolExecutor(len(stores)) as pool:
        taken = list(pool.map(claim, stores))
    # Each row taken, by one store alone (which may renew its own claim, so take it again)
    owners = {url: {i for i, urls in enumerate(taken) if url in urls} for url in FEEDS}
    assert all(len(found) == 1 for found in owners.values()), owners


def test_a_postgres_claim_waits_neither_for_a_long_write_nor_for_another_claim(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    with store.transaction():
        store.execute_many("INSERT INTO feeds (url, added_at) VALUES (?, 'now')", [[u] for u in FEEDS[:2]])
    writing, done = threading.Event(), threading.Event()

    def long_ingest() -> None:
        with store.transaction():  # holds WRITE_LOCK, as an ingest's transaction does
            store.execute("INSERT INTO settings (key, value) VALUES ('ingesting', '1')")
            writing.set()
            done.wait(WAIT)

    ingest = threading.Thread(target=long_ingest)
    ingest.start()
    try:
        assert writing.wait(WAIT)
        started = time.monotonic()
        assert store.claim("feeds", FEEDS[:1], "me", T, T + 60) == FEEDS[:1]
        assert time.monotonic() - started < WAIT / 3 and ingest.is_alive()  # it never waited for it
        with psycopg.connect(pg_url) as other:  # another claim in the middle of taking the second feed
            other.execute("SELECT 1 FROM feeds WHERE url = %s FOR UPDATE", [FEEDS[1]])
            assert store.claim("feeds", FEEDS, "you", T, T + 60) == []  # the first is mine, the second busy
            with ThreadPoolExecutor(1) as pool:
                forced = pool.submit(store.claim, "feeds", FEEDS[1:2], "you", T, T + 60, force=True)
                time.sleep(0.5)
                assert not forced.done()  # a forced claim waits for the row instead
                other.rollback()
                assert forced.result(WAIT) == FEEDS[1:2]
        with psycopg.connect(pg_url, autocommit=True) as other:  # whoever writes holds WRITE_LOCK still
            assert other.execute("SELECT pg_try_advisory_lock(%s)", [WRITE_LOCK]).fetchone() == (False,)
    finally:
        done.set()
        ingest.join(WAIT)
        store.close()
