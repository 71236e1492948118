"""RSS and Atom feeds: which feeds to follow, which of their items were already taken, and polling them.

An item counts as seen only once the engine's ingest has accepted it, so an interrupted poll (a crash,
downtime, a failing ingest) is caught up by the next one: every item still in the feed and not seen is
taken then. For the same reason a feed's ETag / Last-Modified are stored only after a complete poll;
storing them earlier would let a 304 hide the items that were never ingested.

An item whose article page fails for a reason that may pass (a timeout, 429, 5xx) waits for a later poll
rather than being stored, for good, as the feed's summary: only after `ITEM_RETRY_WINDOW` of failures
is the summary taken instead. A poll takes at most ``NEWSBOT_FEED_MAX_ITEMS`` items from one feed (the
newest, as feeds list them first); a feed of thousands is taken over several polls.

Scopes: a feed is followed by scopes (shared news, or a Discord server: `feed_subscriptions`), each
under a name of its own. It is fetched once per poll, whoever follows it, and each item is stored
once per scope that follows it (seen items are kept per scope), so it is visible to exactly those
scopes and each scope's copy is matched, replaced and forgotten within that scope only. When the
shared scope follows a feed its items are stored as shared news alone: every server sees them then.
ETag / Last-Modified are kept per follower too, and sent only when every follower took the feed at
them: a scope that follows a feed since another's poll (or that a failure left behind) must not be
answered with a 304 hiding the items it never took.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import logging
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import sqlite_utils
from yarl import URL

from index.core.models import ArticleIn
from index.reading.clean import shorten
from index.reading.fetch import Fetcher, FetchError, FetchResult
from index.reading.readers import set_published

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=5)  # after the first failure; doubles with each further one
BACKOFF_MAX = timedelta(hours=6)
MAX_CONCURRENT_FEEDS = 4
MAX_CONCURRENT_ITEMS = 8  # per feed; the fetcher's per-host limit applies on top
_TITLE_MAX = 100
_SQL_BATCH = 500  # guids per IN (...) query, well under SQLite's variable limit
# A seen item that has left its feed is forgotten after this long; should it ever come back, the ingest
# still recognises the article (by URL or text) and skips it.
SEEN_RETENTION = timedelta(days=30)
# How long an item whose page keeps failing transiently waits before the feed's own text is taken.
ITEM_RETRY_WINDOW = timedelta(hours=2)
# Transient failures from one site in one poll after which its other pages wait for the next poll
# (an item past its retry window is still tried): a site that is down must not cost a timeout per item.
HOST_FAILURES_BEFORE_SKIP = 3
_BLOCK_TAGS = (
    "p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "table", "tr",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "figure", "figcaption", "hr",
)  # fmt: skip

_BREAK = "\ue000"  # a private-use character: marks block boundaries while flattening HTML

Ingest = Callable[[list[ArticleIn]], object]
_AsyncIngest = Callable[[list[ArticleIn]], Awaitable[None]]


class FeedError(Exception):
    """A feed that could not be read; the message says what to check."""


@dataclass(frozen=True)
class Feed:
    """A followed feed and its health."""

    url: str
    name: str | None
    added_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_poll_after: datetime | None = None  # set while backing off after failures
    scope: str | None = None  # who follows it under ``name``: None = shared news, else a server's id
    items_stored: int = 0  # of the items the feed lists, those taken into this scope (or shared news)
    items_failing: int = 0  # items the last attempt could not take; retried at each poll
    item_error: str | None = None  # why one of those failed

    def due(self, now: datetime) -> bool:
        return self.next_poll_after is None or self.next_poll_after <= now


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

    def summary(self) -> str:
        polled = len(self.feeds) - self.skipped
        return (
            f"{polled} feed{'' if polled == 1 else 's'} polled, {self.new_items} new "
            f"item{'' if self.new_items == 1 else 's'}, {len(self.failed)} failed, "
            f"{self.skipped} skipped while backing off"
            + (f", {self.deferred} items left for the next polls" if self.deferred else "")
        )


def validate_feed_url(url: str) -> str:
    """The URL, stripped; ValueError with a readable message unless it is an http(s) URL with a host."""
    url = url.strip()
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise ValueError(f"not a valid feed address: {url!r}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"a feed address must be an http:// or https:// URL, not {url!r}")
    return url


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# A feed's health (the feed's, whoever follows it), as `Feed` reads it; the validators are each
# follower's own (feeds.etag / last_modified are what versions before that kept: left for them alone).
_FEED = "f.url, f.last_polled_at, f.last_ok_at, f.last_error, f.consecutive_failures, f.next_poll_after"
# A subscription's item counts: a server sees the shared copies of a feed the shared scope follows too.
_ITEM_COUNTS = (
    "(SELECT count(DISTINCT i.guid) FROM feed_items i WHERE i.feed_url = f.url "
    "AND (i.scope IS NULL OR i.scope = s.scope)) AS items_stored, "
    "(SELECT count(*) FROM feed_item_failures x WHERE x.feed_url = f.url) AS items_failing, "
    "(SELECT x.error FROM feed_item_failures x WHERE x.feed_url = f.url LIMIT 1) AS item_error"
)


def backoff(failures: int) -> timedelta:
    """How long to leave a feed alone after ``failures`` failed polls in a row."""
    return min(BACKOFF_BASE * 2 ** min(failures - 1, 16), BACKOFF_MAX)


class FeedStore:
    """Feeds and the items already taken from them, in the engine's SQLite database.

    When the connection is shared with the engine's `Store`, pass its lock so these writes never land
    inside an ingest transaction. `poll_feeds` calls the store from worker threads (so waiting for that
    lock never blocks the event loop): the connection must allow that (``check_same_thread=False``).
    """

    def __init__(self, db: sqlite_utils.Database, lock: AbstractContextManager[Any] | None = None) -> None:
        self.db = db
        self.lock = lock if lock is not None else threading.RLock()
        with self.lock, self.db.atomic():  # a data dir made before scopes is upgraded whole or not at all
            self._create()

    def _create(self) -> None:
        tables = set(self.db.table_names())
        self.db.table("feeds").create(
            {
                "url": str,
                "added_at": str,
                "etag": str,
                "last_modified": str,
                "last_polled_at": str,
                "last_ok_at": str,
                "last_error": str,
                "consecutive_failures": int,
                "next_poll_after": str,
            },
            pk="url",
            not_null={"added_at", "consecutive_failures"},
            defaults={"consecutive_failures": 0},
            if_not_exists=True,
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS feed_subscriptions (feed_url TEXT NOT NULL REFERENCES feeds(url), "
            "scope TEXT, name TEXT, added_at TEXT NOT NULL)"
        )
        self.db.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS idx_feed_subscriptions "
            "ON feed_subscriptions(feed_url, coalesce(scope, ''))"
        )
        if "feed_items" in tables and "scope" not in self.db["feed_items"].columns_dict:  # before scopes
            self.db.execute("ALTER TABLE feed_items RENAME TO feed_items_unscoped")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS feed_items (feed_url TEXT NOT NULL REFERENCES feeds(url), "
            "scope TEXT, guid TEXT NOT NULL, link TEXT, seen_at TEXT)"
        )
        self.db.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS idx_feed_items "
            "ON feed_items(feed_url, coalesce(scope, ''), guid)"
        )
        if "feed_items_unscoped" in self.db.table_names():
            self.db.execute(
                "INSERT INTO feed_items (feed_url, scope, guid, link, seen_at) "
                "SELECT feed_url, NULL, guid, link, seen_at FROM feed_items_unscoped"
            )
            self.db.execute("DROP TABLE feed_items_unscoped")
        if "feeds" in tables and "feed_subscriptions" not in tables:  # made before scopes: all shared
            self.db.execute(
                "INSERT INTO feed_subscriptions (feed_url, scope, name, added_at) "
                "SELECT url, NULL, name, added_at FROM feeds"
            )
        # Validators per follower. Those of a feed from before are not copied: which followers took
        # everything at them is unknown, and one full fetch per feed is cheap next to a missed item.
        for column in ("etag", "last_modified"):
            if column not in self.db["feed_subscriptions"].columns_dict:
                self.db.execute(f"ALTER TABLE feed_subscriptions ADD COLUMN {column} TEXT")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS feed_item_failures (feed_url TEXT NOT NULL REFERENCES feeds(url), "
            "guid TEXT NOT NULL, first_failed_at TEXT NOT NULL, error TEXT, PRIMARY KEY (feed_url, guid))"
        )

    def add(
        self, url: str, name: str | None = None, *, scope: str | None = None, now: datetime | None = None
    ) -> Feed:
        """Follow a feed in ``scope``; following it again only updates that scope's name for it (when
        one is given)."""
        url = validate_feed_url(url)
        name = (name or "").strip() or None
        added = _iso(now or datetime.now(UTC))
        with self.lock, self.db.atomic():
            self.db.execute(
                "INSERT INTO feeds (url, added_at, consecutive_failures) VALUES (?, ?, 0) "
                "ON CONFLICT(url) DO NOTHING",
                [url, added],
            )
            updated = self.db.execute(
                "UPDATE feed_subscriptions SET name = coalesce(?, name) "
                "WHERE feed_url = ? AND coalesce(scope, '') = ?",
                [name, url, scope or ""],
            )
            if not updated.rowcount:
                self.db.execute(
                    "INSERT INTO feed_subscriptions (feed_url, scope, name, added_at) VALUES (?, ?, ?, ?)",
                    [url, scope, name, added],
                )
        feed = self.get(url, scope)
        assert feed is not None
        return feed

    def remove(self, url: str, *, scope: str | None = None) -> bool:
        """Stop following a feed in ``scope`` and forget the items it took there; the feed itself goes
        when no scope follows it any more. False if ``scope`` did not follow it."""
        url = url.strip()
        key = [url, scope or ""]
        with self.lock, self.db.atomic():
            self.db.execute("DELETE FROM feed_items WHERE feed_url = ? AND coalesce(scope, '') = ?", key)
            gone = self.db.execute(
                "DELETE FROM feed_subscriptions WHERE feed_url = ? AND coalesce(scope, '') = ?", key
            ).rowcount
            for table, column in (("feed_item_failures", "feed_url"), ("feeds", "url")):
                self.db.execute(
                    f"DELETE FROM {table} WHERE {column} = ? AND NOT EXISTS "
                    "(SELECT 1 FROM feed_subscriptions WHERE feed_url = ?)",
                    [url, url],
                )
        return gone > 0

    def get(self, url: str, scope: str | None = None) -> Feed | None:
        """The feed as ``scope`` follows it; None when it does not."""
        rows = self._subscribed("f.url = ? AND coalesce(s.scope, '') = ?", [url.strip(), scope or ""])
        return rows[0] if rows else None

    def list(self, scope: str | None = None) -> list[Feed]:
        """The feeds ``scope`` follows."""
        return self._subscribed("coalesce(s.scope, '') = ?", [scope or ""])

    def count(self, scope: str | None = None) -> int:
        """How many feeds ``scope`` follows."""
        with self.lock:
            return int(
                self.db.execute(
                    "SELECT count(*) FROM feed_subscriptions WHERE coalesce(scope, '') = ?", [scope or ""]
                ).fetchone()[0]
            )

    def followers(self, url: str) -> list[Feed]:
        """The feed once for each scope that follows it (shared first)."""
        return self._subscribed("f.url = ?", [url])

    def polled(self) -> list[Feed]:
        """Every feed some scope follows, once each, with its health (validators are a follower's:
        see `followers`)."""
        with self.lock:
            rows = list(
                self.db.query(
                    f"SELECT {_FEED}, NULL AS etag, NULL AS last_modified, NULL AS name, NULL AS scope, "
                    "f.added_at, 0 AS items_stored, 0 AS items_failing, NULL AS item_error FROM feeds f "
                    "ORDER BY 1"
                )
            )
        return [_feed(row) for row in rows]

    def _subscribed(self, where: str, params: list[str]) -> list[Feed]:
        with self.lock:
            rows = list(
                self.db.query(
                    f"SELECT {_FEED}, s.etag, s.last_modified, s.name, s.scope, s.added_at, {_ITEM_COUNTS} "
                    "FROM feeds f "
                    f"JOIN feed_subscriptions s ON s.feed_url = f.url WHERE {where} "
                    "ORDER BY s.scope IS NOT NULL, s.added_at, f.url",
                    params,
                )
            )
        return [_feed(row) for row in rows]

    def seen(self, feed_url: str, guids: Sequence[str], scope: str | None = None) -> set[str]:
        """Which of ``guids`` were already taken from the feed into ``scope``."""
        found: set[str] = set()
        with self.lock:
            for start in range(0, len(guids), _SQL_BATCH):
                batch = guids[start : start + _SQL_BATCH]
                marks = ", ".join("?" * len(batch))
                sql = (
                    "SELECT guid FROM feed_items WHERE feed_url = ? AND coalesce(scope, '') = ? "
                    f"AND guid IN ({marks})"
                )
                rows = self.db.execute(sql, [feed_url, scope or "", *batch])
                found.update(row[0] for row in rows)
        return found

    def mark_seen(
        self, feed_url: str, items: Iterable[tuple[str, str | None]], now: datetime, scope: str | None = None
    ) -> None:
        """Record (guid, link) pairs as taken into ``scope``; call only after the ingest accepted them."""
        rows = [(feed_url, scope, guid, link, _iso(now)) for guid, link in items]
        with self.lock, self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO feed_items (feed_url, scope, guid, link, seen_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def forget_gone(self, feed_url: str, present: Iterable[str], before: datetime) -> int:
        """Forget the items seen before ``before`` that the feed no longer lists, so `feed_items` stays
        the size of the feeds rather than of their history. Returns how many were forgotten."""
        keep = set(present)
        with self.lock, self.db.atomic():
            rows = self.db.execute(  # as times, not text: "12:00:00+00:00" sorts before "12:00:00.5+00:00"
                "SELECT rowid, guid FROM feed_items WHERE feed_url = ? AND julianday(seen_at) < julianday(?)",
                [feed_url, _iso(before)],
            )
            gone = [(rowid,) for rowid, guid in rows if guid not in keep]
            self.db.conn.executemany("DELETE FROM feed_items WHERE rowid = ?", gone)
        return len(gone)

    def failing(self, feed_url: str) -> dict[str, datetime]:
        """The feed's items that the last attempt could not take, and when each first failed."""
        with self.lock:
            rows = self.db.execute(
                "SELECT guid, first_failed_at FROM feed_item_failures WHERE feed_url = ?", [feed_url]
            )
            return {guid: datetime.fromisoformat(first) for guid, first in rows}

    def record_items(
        self,
        feed_url: str,
        *,
        failed: dict[str, str],
        taken: Iterable[str],
        present: Iterable[str],
        now: datetime,
    ) -> None:
        """After a poll tried items: ``failed`` (guid: error) are failing since their first failure,
        ``taken`` ones no longer, and items the feed no longer lists are forgotten."""
        listed = set(present)
        with self.lock, self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO feed_item_failures (feed_url, guid, first_failed_at, error) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(feed_url, guid) DO UPDATE SET error = excluded.error",
                [(feed_url, guid, _iso(now), error) for guid, error in failed.items()],
            )
            stale = [guid for guid in self.failing(feed_url) if guid not in listed]
            self.db.conn.executemany(
                "DELETE FROM feed_item_failures WHERE feed_url = ? AND guid = ?",
                [(feed_url, guid) for guid in [*taken, *stale]],
            )

    def record_success(
        self,
        url: str,
        now: datetime,
        *,
        scopes: Iterable[str | None] = (),
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """A poll that worked; the followers in ``scopes`` have taken every item the feed listed at
        these validators (the others keep theirs)."""
        with self.lock, self.db.atomic():
            self.db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_ok_at = ?, last_error = NULL, "
                "consecutive_failures = 0, next_poll_after = NULL WHERE url = ?",
                [_iso(now), _iso(now), url],
            )
            self.db.conn.executemany(
                "UPDATE feed_subscriptions SET etag = ?, last_modified = ? "
                "WHERE feed_url = ? AND coalesce(scope, '') = ?",
                [(etag, last_modified, url, scope or "") for scope in scopes],
            )

    def record_failure(self, url: str, now: datetime, error: str) -> Feed | None:
        """Note the error and back off exponentially; None if the feed was removed meanwhile."""
        with self.lock, self.db.atomic():
            row = self.db.execute("SELECT consecutive_failures FROM feeds WHERE url = ?", [url]).fetchone()
            if row is None:
                return None
            failures = (row[0] or 0) + 1
            self.db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, consecutive_failures = ?, "
                "next_poll_after = ? WHERE url = ?",
                [_iso(now), error, failures, _iso(now + backoff(failures)), url],
            )
        return self.get(url)


def _feed(row: dict[str, Any]) -> Feed:
    return Feed(
        url=row["url"],
        name=row["name"],
        added_at=datetime.fromisoformat(row["added_at"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled_at=_when(row["last_polled_at"]),
        last_ok_at=_when(row["last_ok_at"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"] or 0,
        next_poll_after=_when(row["next_poll_after"]),
        scope=row["scope"],
        items_stored=row["items_stored"],
        items_failing=row["items_failing"],
        item_error=row["item_error"],
    )


async def poll_feeds(
    store: FeedStore,
    fetcher: Fetcher,
    ingest: Ingest,
    *,
    now: datetime | None = None,
    force: bool = False,
    scope: str | None = None,
    every_scope: bool = True,
) -> PollReport:
    """Poll every feed once (those backing off only when ``force``), a few at a time; with
    ``every_scope`` false only the feeds ``scope`` follows (their items still go to every follower).

    ``ingest`` is the engine's synchronous ingest; it runs in a worker thread, one call at a time (it
    need not be thread-safe), each call with the articles of one scope (set on each `ArticleIn`).
    ``now`` must be timezone-aware. A failing feed is recorded in its health fields and never stops
    the others.
    """
    now = now or datetime.now(UTC)
    feeds = await asyncio.to_thread(store.polled if every_scope else functools.partial(store.list, scope))
    slots = asyncio.Semaphore(MAX_CONCURRENT_FEEDS)
    ingest_lock = asyncio.Lock()

    async def serial_ingest(articles: list[ArticleIn]) -> None:
        async with ingest_lock:
            await asyncio.to_thread(ingest, articles)

    async def one(feed: Feed) -> FeedResult:
        if not force and not feed.due(now):
            return FeedResult(feed.url, skipped=True)
        async with slots:
            return await _poll_feed(store, fetcher, serial_ingest, feed, now)

    report = PollReport(list(await asyncio.gather(*(one(feed) for feed in feeds))))
    log.info("feeds: %s", report.summary())
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
    parsed = await asyncio.to_thread(_parse_feed, response)
    entries = _entries_by_guid(parsed.entries)
    unseen: dict[str | None, list[str]] = {}
    for follower in followers:
        seen = await asyncio.to_thread(store.seen, feed.url, list(entries), follower.scope)
        unseen[follower.scope] = [guid for guid in entries if guid not in seen]
    await asyncio.to_thread(store.forget_gone, feed.url, entries, now - SEEN_RETENTION)
    new = [guid for guid in entries if any(guid in guids for guids in unseen.values())]
    cap = fetcher.settings.feed_max_items
    new, result.deferred = new[:cap], max(len(new) - cap, 0)
    failing = await asyncio.to_thread(store.failing, feed.url)
    items = _ItemPoll(fetcher, feed.url)

    async def article_for(guid: str) -> ArticleIn | str:
        may_wait = guid not in failing or now - failing[guid] < ITEM_RETRY_WINDOW
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
            links = [(guid, _entry_link(entries[guid])) for guid in taken]
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


def _parse_feed(response: FetchResult) -> Any:
    # Decoded by the fetcher's rules (the web's encodings only) and handed on as UTF-8: feedparser
    # would decode with any codec the feed names, punycode's quadratic one included.
    headers = {"content-location": response.final_url, "content-type": "application/xml; charset=utf-8"}
    # A stream, not bytes: feedparser would treat a bytes body that names a file as a path to read.
    parsed = feedparser.parse(io.BytesIO(response.text.encode()), response_headers=headers)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        problem = parsed.get("bozo_exception") or "no RSS or Atom elements"
        raise FeedError(
            f"{response.url} is not a readable RSS or Atom feed ({problem}); "
            "check that the address is the feed itself, not the site's home page"
        )
    return parsed


def _entries_by_guid(entries: Iterable[Any]) -> dict[str, Any]:
    """Entries keyed by guid: the entry's id, else its link, else a hash of its title (or text)."""
    keyed: dict[str, Any] = {}
    for entry in entries:
        guid = entry.get("id") or entry.get("link")
        if not guid:
            basis = entry.get("title") or entry.get("summary")
            if not basis:
                continue  # an empty entry (a broken feed's debris): nothing to take
            guid = "sha1:" + hashlib.sha1(basis.encode()).hexdigest()
        keyed.setdefault(guid, entry)
    return keyed


class _ItemPoll:
    """Reading one feed's items in one poll: a few at a time, and sites that keep failing left alone."""

    def __init__(self, fetcher: Fetcher, feed_url: str) -> None:
        self.fetcher = fetcher
        self.feed_url = feed_url
        self.slots = asyncio.Semaphore(MAX_CONCURRENT_ITEMS)
        self.host_failures: Counter[str] = Counter()

    async def article(self, entry: Any, *, may_wait: bool) -> ArticleIn | str:
        """The article an entry links to, else one made of the entry's own text; a message if neither,
        or if the page failed transiently and the item ``may_wait`` for a later poll."""
        link = _entry_link(entry)
        title = " ".join((entry.get("title") or "").split())
        article: ArticleIn | None = None
        problem = "the entry has no link and no text"
        if link:
            host = URL(link).host or ""
            try:
                if may_wait and self.host_failures[host] >= HOST_FAILURES_BEFORE_SKIP:
                    raise FetchError(f"{host} kept failing in this poll", transient=True)
                article = await self.fetcher.fetch_article(link)
            except FetchError as exc:
                if exc.transient:
                    self.host_failures[host] += 1
                    if may_wait:
                        log.info("feed %s: %s; trying again at the next poll", self.feed_url, exc)
                        return f"{link}: {exc}; trying again at the next poll"
                log.info("feed %s: %s; using the entry's own text", self.feed_url, exc)
                problem = f"{exc}, and the feed entry has no text"
            except Exception as exc:  # a page that breaks extraction must not block the whole feed
                log.warning(
                    "feed %s: reading %s failed; using the entry's text", self.feed_url, link, exc_info=True
                )
                problem = (
                    f"reading the page failed ({type(exc).__name__}: {exc}), and the feed entry has no text"
                )
        if article is None:
            text = _entry_text(entry)
            if not text:
                return f"{link or title}: {problem}"
            article = ArticleIn(
                title=title or shorten(text.partition("\n")[0], _TITLE_MAX),
                text=text,
                url=link,
                origin=link or self.feed_url,
            )
        article.title = article.title or title
        if not article.published:
            article.published = _entry_published(entry)
        if not article.published:  # a date feedparser could not read: dateutil's try, else kept as text
            set_published(article, entry.get("published") or dict.get(entry, "updated"))
        article.meta["feed"] = self.feed_url
        return article


def _entry_link(entry: Any) -> str | None:
    """The entry's web link; feedparser also puts non-web ids there (an Atom entry's urn:...)."""
    link = entry.get("link")
    try:
        return link if link and URL(link).scheme in ("http", "https") else None
    except ValueError:
        return None


def _entry_text(entry: Any) -> str:
    """The entry's fullest text (content, else summary) as plain text."""
    candidates = [*entry.get("content", []), entry.get("summary_detail") or {}]
    best = ""
    for item in candidates:
        value = item.get("value") or ""
        text = value.strip() if item.get("type") == "text/plain" else _html_to_text(value)
        if len(text) > len(best):
            best = text
    return best


def _html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, one paragraph per block, blank lines between them."""
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment.replace(_BREAK, ""), create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return fragment.strip()
    for element in root.xpath(".//script | .//style"):
        element.drop_tree()
    # Newlines in HTML source are just spaces; block elements are what separate paragraphs.
    for element in root.iter(*_BLOCK_TAGS):
        element.text = _BREAK + (element.text or "")
        element.tail = _BREAK + (element.tail or "")
    paragraphs = (" ".join(part.split()) for part in root.text_content().split(_BREAK))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _entry_published(entry: Any) -> str | None:
    # A UTC struct_time. dict.get: feedparser's own get maps a missing "updated" to "published", warning.
    moment = entry.get("published_parsed") or dict.get(entry, "updated_parsed")
    return datetime(*moment[:6], tzinfo=UTC).isoformat() if moment else None
