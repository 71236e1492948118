"""Polling: each feed fetched once, its new items read and handed to the ingest of every scope that
follows it, and the feed's health and validators recorded (see the package's docstring)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from yarl import URL

from index.core.models import ArticleIn
from index.reading.feeds.entries import FeedError, ItemReader, entries_by_guid, entry_link, parse_feed
from index.reading.feeds.store import Feed, FeedStore
from index.reading.fetch import Fetcher, FetchError

log = logging.getLogger(__name__)

Ingest = Callable[[list[ArticleIn]], object]
_AsyncIngest = Callable[[list[ArticleIn]], Awaitable[None]]


@dataclass
class FeedResult:
    """What one poll did with one feed."""

    url: str
    new_items: int = 0
    not_modified: bool = False
    skipped: bool = False  # backing off after failures; see Feed.next_poll_after
    error: str | None = None
    item_errors: list[str] = field(default_factory=list)  # items left for the next poll to retry
    deferred: int = 0  # new items over NEWSBOT_FEED_MAX_ITEMS, left for the next polls


@dataclass
class PollReport:
    feeds: list[FeedResult]
    elsewhere: int = 0  # feeds left out: another process's poll took them (`FeedStore.claim`)

    @property
    def new_items(self) -> int:
        return sum(result.new_items for result in self.feeds)

    @property
    def failed(self) -> list[FeedResult]:
        return [result for result in self.feeds if result.error]

    @property
    def skipped(self) -> int:
        return sum(result.skipped for result in self.feeds)

    @property
    def deferred(self) -> int:
        return sum(result.deferred for result in self.feeds)


async def poll_feeds(
    store: FeedStore,
    fetcher: Fetcher,
    ingest: Ingest,
    *,
    now: datetime | None = None,
    force: bool = False,
    scope: str | None = None,
    every_scope: bool = True,
    every: timedelta | None = None,
) -> PollReport:
    """Poll every feed once (those backing off only when ``force``), a few at a time (the fetcher's
    settings: ``max_concurrent_feeds`` and the other feed settings); with
    ``every_scope`` false only the feeds ``scope`` follows (their items still go to every follower).

    Processes sharing the store poll each feed once: a poll first claims its feeds (`FeedStore.claim`)
    and leaves out those another poll took less than half its interval ago, unless ``force``. A poll
    run ``every`` so often claims each feed for half of that, so polls of processes on the same
    schedule, wherever in it they start, fetch a feed once per interval; a one-off poll (``every``
    None) claims only what no other poll holds, and holds it for no time.

    ``ingest`` is the engine's synchronous ingest; it runs in a worker thread, one call at a time (it
    need not be thread-safe), each call with the articles of one scope (set on each `ArticleIn`).
    ``now`` must be timezone-aware. A failing feed is recorded in its health fields and never stops
    the others.
    """
    now = now or datetime.now(UTC)
    feeds = await asyncio.to_thread(store.polled if every_scope else functools.partial(store.list, scope))
    due = [feed.url for feed in feeds if force or feed.due(now)]
    lease = every / 2 if every else timedelta(0)
    left = set(due) - await asyncio.to_thread(store.claim, due, now, lease, force=force)  # polled elsewhere
    slots = asyncio.Semaphore(fetcher.settings.max_concurrent_feeds)
    ingest_lock = asyncio.Lock()

    async def serial_ingest(articles: list[ArticleIn]) -> None:
        async with ingest_lock:
            await asyncio.to_thread(ingest, articles)

    async def one(feed: Feed) -> FeedResult:
        if not force and not feed.due(now):
            return FeedResult(feed.url, skipped=True)
        async with slots:
            return await _poll_feed(store, fetcher, serial_ingest, feed, now)

    results = await asyncio.gather(*(one(feed) for feed in feeds if feed.url not in left))
    report = PollReport(list(results), elsewhere=len(left))
    log.info(
        "feeds: %d polled, %d new items, %d failed, %d skipped while backing off, %d left for the next "
        "polls, %d polled by another process",
        len(report.feeds) - report.skipped,
        report.new_items,
        len(report.failed),
        report.skipped,
        report.deferred,
        report.elsewhere,
    )
    return report


async def _poll_feed(
    store: FeedStore, fetcher: Fetcher, ingest: _AsyncIngest, feed: Feed, now: datetime
) -> FeedResult:
    result = FeedResult(feed.url)
    try:
        await _take_new_items(store, fetcher, ingest, feed, now, result)
    except Exception as exc:  # whatever broke (network, feed, ingest), the other feeds go on
        expected = isinstance(exc, FetchError | FeedError)
        message = str(exc) if expected else f"{type(exc).__name__}: {exc}"
        log.warning("feed %s failed: %s", feed.url, message, exc_info=not expected)
        result.error = message
        await asyncio.to_thread(store.record_failure, feed.url, now, message)
    return result


async def _take_new_items(
    store: FeedStore, fetcher: Fetcher, ingest: _AsyncIngest, feed: Feed, now: datetime, result: FeedResult
) -> None:
    followers = await asyncio.to_thread(store.followers, feed.url)
    if any(f.scope is None for f in followers):  # shared news: every server sees it already
        followers = [f for f in followers if f.scope is None]
    scopes = [f.scope for f in followers]
    etag, last_modified = _validators(followers)
    response = await fetcher.get(feed.url, etag=etag, last_modified=last_modified)
    if response.not_modified:
        result.not_modified = True
        await asyncio.to_thread(
            store.record_success,
            feed.url,
            now,
            scopes=scopes,
            etag=response.etag or etag,
            last_modified=response.last_modified or last_modified,
        )
        return
    parsed = await asyncio.to_thread(parse_feed, response)
    entries = entries_by_guid(parsed.entries)
    unseen: dict[str | None, list[str]] = {}
    for follower in followers:
        seen = await asyncio.to_thread(store.seen, feed.url, list(entries), follower.scope)
        unseen[follower.scope] = [guid for guid in entries if guid not in seen]
    settings = fetcher.settings
    await asyncio.to_thread(
        store.forget_gone, feed.url, entries, now - timedelta(days=settings.feed_seen_days)
    )
    new = [guid for guid in entries if any(guid in guids for guids in unseen.values())]
    cap = settings.feed_max_items
    new, result.deferred = new[:cap], max(len(new) - cap, 0)
    failing = await asyncio.to_thread(store.failing, feed.url)
    items = ItemReader(fetcher, feed.url)
    retry_window = timedelta(minutes=settings.feed_item_retry_minutes)

    async def article_for(guid: str) -> ArticleIn | str:
        may_wait = guid not in failing or now - failing[guid] < retry_window
        async with items.slots:
            return await items.article(entries[guid], may_wait=may_wait)

    outcomes = await asyncio.gather(*(article_for(guid) for guid in new))
    fetched = {
        guid: outcome for guid, outcome in zip(new, outcomes, strict=True) if not isinstance(outcome, str)
    }
    failed = {guid: outcome for guid, outcome in zip(new, outcomes, strict=True) if isinstance(outcome, str)}
    result.item_errors = list(failed.values())
    await asyncio.to_thread(
        store.record_items, feed.url, failed=failed, taken=list(fetched), present=entries, now=now
    )
    for follower in followers:  # each scope its own copies: the ingest changes what it is given
        title = parsed.feed.get("title") or follower.name or URL(feed.url).host or feed.url
        taken = [guid for guid in unseen[follower.scope] if guid in fetched]
        if taken:
            await ingest([_for_scope(fetched[guid], follower.scope, title) for guid in taken])
            links = [(guid, entry_link(entries[guid])) for guid in taken]
            await asyncio.to_thread(store.mark_seen, feed.url, links, now, follower.scope)
    result.new_items = len(fetched)
    # Items that failed or wait are taken next time; keeping the old validators stops a 304 hiding them.
    complete = not result.item_errors and not result.deferred
    await asyncio.to_thread(
        store.record_success,
        feed.url,
        now,
        scopes=scopes if complete else (),
        etag=response.etag,
        last_modified=response.last_modified,
    )
    log.info(
        "feed %s: %d new items, %d to retry, %d left for later polls",
        feed.url,
        len(fetched),
        len(result.item_errors),
        result.deferred,
    )


def _validators(followers: Sequence[Feed]) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified a poll may send: those every follower took the feed at, else none
    (a 304 would hide the items from a follower that has not taken them)."""
    taken_at = {(f.etag, f.last_modified) for f in followers}
    return taken_at.pop() if len(taken_at) == 1 else (None, None)


def _for_scope(article: ArticleIn, scope: str | None, feed_title: str) -> ArticleIn:
    """A copy of a feed's article for one scope, its outlet the feed's title when the page named none."""
    return replace(article, scope=scope, source=article.source or feed_title, meta=dict(article.meta))
