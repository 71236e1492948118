"""Feed polls claimed once across processes sharing one store (SQLite and PostgreSQL): two feed stores,
each another process's, poll one feed served locally; it is fetched once per interval, not once per
process, and a poll that died holds its feeds no longer than its lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from test_feeds import FEEDS, NOW, Collector
from webserver import RSS, WebServer, rss

from index.core.settings import Settings
from index.reading.feeds import FeedStore, poll_feeds
from index.reading.fetch import Fetcher
from index.storage.interface import NewsStore

EVERY = timedelta(minutes=15)  # both processes' NEWSBOT_FEED_POLL_MINUTES
PATH = "/claimed.xml"


@pytest.fixture
def open_feeds(open_backend_store: Callable[[], NewsStore]) -> Callable[[], FeedStore]:
    """Opens another process's feed store over the same database."""
    return lambda: FeedStore(open_backend_store(), FEEDS)


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    async with WebServer() as web_server:
        web_server.add(PATH, rss("Claimed", []), content_type=RSS)
        yield web_server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(Settings(_env_file=None, allow_private_urls=True, fetch_timeout=5)) as open_fetcher:
        yield open_fetcher


async def test_two_processes_fetch_a_feed_once_per_interval(
    open_feeds: Callable[[], FeedStore], server: WebServer, fetcher: Fetcher
) -> None:
    one, other = open_feeds(), open_feeds()
    one.add(server.url(PATH))
    ingest = Collector()

    async def poll(feeds: FeedStore, minutes: float, **options: bool) -> tuple[int, int]:
        report = await poll_feeds(
            feeds, fetcher, ingest, now=NOW + timedelta(minutes=minutes), every=EVERY, **options
        )
        return len(report.feeds), report.elsewhere

    both = await asyncio.gather(poll(one, 0), poll(other, 0))  # started together: one fetches
    assert sorted(both) == [(0, 1), (1, 0)] and server.hits[PATH] == 1
    idle, busy = (other, one) if both[0] == (1, 0) else (one, other)
    assert await poll(idle, 5) == (0, 1) and server.hits[PATH] == 1  # polled under half an interval ago
    assert await poll(idle, 8) == (1, 0) and server.hits[PATH] == 2  # over half an interval ago
    assert await poll(busy, 9) == (0, 1) and server.hits[PATH] == 2
    assert await poll(busy, 10, force=True) == (1, 0) and server.hits[PATH] == 3  # forced: polled anyway
    (feed,) = idle.list()
    assert feed.last_polled_at == NOW + timedelta(minutes=10) and feed.last_error is None


@pytest.mark.parametrize(("offset", "fetches"), [(4, 4), (10, 5)])
async def test_each_feed_is_fetched_once_per_interval_by_two_processes_on_one_schedule(
    open_feeds: Callable[[], FeedStore], server: WebServer, fetcher: Fetcher, offset: int, fetches: int
) -> None:
    """The second process started ``offset`` minutes after the first: in an hour each of five feeds is
    fetched once per interval, not twice (4 polls each, 8 in all). Under half an interval behind, the
    second never polls; over half, it takes over after the first poll (0, 10, 25, 40, 55)."""
    one, other = open_feeds(), open_feeds()
    paths = [f"/feed-{n}.xml" for n in range(5)]
    for path in paths:
        server.add(path, rss(path, []), content_type=RSS)
        one.add(server.url(path))
    ingest = Collector()
    for minute in range(0, 60, 15):
        for feeds, start in ((one, minute), (other, minute + offset)):
            await poll_feeds(feeds, fetcher, ingest, now=NOW + timedelta(minutes=start), every=EVERY)
    assert [server.hits[path] for path in paths] == [fetches] * 5


async def test_a_crashed_pollers_claim_expires(
    open_feeds: Callable[[], FeedStore], server: WebServer, fetcher: Fetcher
) -> None:
    crashed, other = open_feeds(), open_feeds()
    url = crashed.add(server.url(PATH)).url
    assert crashed.claim([url], NOW, EVERY / 2) == {url}  # then it died before fetching
    ingest = Collector()
    report = await poll_feeds(other, fetcher, ingest, now=NOW + timedelta(minutes=7), every=EVERY)
    assert (report.feeds, report.elsewhere, server.hits[PATH]) == ([], 1, 0)
    report = await poll_feeds(other, fetcher, ingest, now=NOW + EVERY / 2, every=EVERY)
    assert [result.url for result in report.feeds] == [url] and server.hits[PATH] == 1


async def test_a_one_off_poll_takes_only_what_no_other_poll_holds(
    open_feeds: Callable[[], FeedStore], server: WebServer, fetcher: Fetcher
) -> None:
    """`newsbot feeds poll` beside a bot: it leaves what the bot polled lately and holds nothing."""
    bot, cli = open_feeds(), open_feeds()
    bot.add(server.url(PATH))
    ingest = Collector()
    await poll_feeds(bot, fetcher, ingest, now=NOW, every=EVERY)
    assert (await poll_feeds(cli, fetcher, ingest, now=NOW + timedelta(minutes=1))).elsewhere == 1
    assert len((await poll_feeds(cli, fetcher, ingest, now=NOW + timedelta(minutes=8))).feeds) == 1
    assert (
        len((await poll_feeds(bot, fetcher, ingest, now=NOW + timedelta(minutes=9), every=EVERY)).feeds) == 1
    )
    assert server.hits[PATH] == 3
