"""Which feeds are followed, by whom, and which of their items each follower took: the feeds' tables
in the engine's store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from yarl import URL

from index.core.dates import stored_time, utc_iso
from index.core.errors import FeedLimitError
from index.core.settings import FeedSettings
from index.storage.interface import NewsStore
from index.storage.store import claimant, scope_clause

_SQL_BATCH = 500  # guids per IN (...) query, well under SQLite's variable limit


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


def backoff(failures: int, settings: FeedSettings) -> timedelta:
    """How long to leave a feed alone after ``failures`` failed polls in a row: ``feed_backoff_minutes``
    after the first, doubling with each further one up to ``feed_backoff_max_minutes``."""
    first = timedelta(minutes=settings.feed_backoff_minutes)
    return min(first * 2 ** min(failures - 1, 16), timedelta(minutes=settings.feed_backoff_max_minutes))


class FeedStore:
    """Feeds and the items already taken from them, in the engine's store (their tables are declared in
    index/storage/schema.py). `poll_feeds` calls it from worker threads, so that waiting for the store's
    writer never blocks the event loop."""

    def __init__(self, store: NewsStore, settings: FeedSettings) -> None:
        self.store = store
        self.settings = settings  # how long a failing feed is left alone (`backoff`)
        self.claimant = claimant()  # this store's polls, in `claim`

    def add(
        self,
        url: str,
        name: str | None = None,
        *,
        scope: str | None = None,
        most: int | None = None,
        now: datetime | None = None,
    ) -> Feed:
        """Follow a feed in ``scope``; following it again only updates that scope's name for it (when
        one is given), so it is never refused. `FeedLimitError` when ``scope`` already follows ``most``
        feeds: counted in the add's own transaction, so concurrent adds cannot pass the limit together."""
        url = validate_feed_url(url)
        name = (name or "").strip() or None
        added = utc_iso(now or datetime.now(UTC))
        exact, params = scope_clause("scope", scope)
        with self.store.transaction():
            if most is not None and self.get(url, scope) is None and (count := self.count(scope)) >= most:
                raise FeedLimitError(count)
            self.store.execute(
                "INSERT INTO feeds (url, added_at, consecutive_failures) VALUES (?, ?, 0) "
                "ON CONFLICT(url) DO NOTHING",
                [url, added],
            )
            updated = self.store.execute(
                f"UPDATE feed_subscriptions SET name = coalesce(?, name) WHERE feed_url = ? AND {exact}",
                [name, url, *params],
            )
            if not updated.rowcount:
                self.store.execute(
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
        exact, params = scope_clause("scope", scope)
        with self.store.transaction():
            self.store.execute(f"DELETE FROM feed_items WHERE feed_url = ? AND {exact}", [url, *params])
            gone = self.store.execute(
                f"DELETE FROM feed_subscriptions WHERE feed_url = ? AND {exact}", [url, *params]
            ).rowcount
            for table, column in (("feed_item_failures", "feed_url"), ("feeds", "url")):
                self.store.execute(
                    f"DELETE FROM {table} WHERE {column} = ? AND NOT EXISTS "
                    "(SELECT 1 FROM feed_subscriptions WHERE feed_url = ?)",
                    [url, url],
                )
        return gone > 0

    def get(self, url: str, scope: str | None = None) -> Feed | None:
        """The feed as ``scope`` follows it; None when it does not."""
        exact, params = scope_clause("s.scope", scope)
        rows = self._subscribed(f"f.url = ? AND {exact}", [url.strip(), *params])
        return rows[0] if rows else None

    def list(self, scope: str | None = None) -> list[Feed]:
        """The feeds ``scope`` follows."""
        return self._subscribed(*scope_clause("s.scope", scope))

    def count(self, scope: str | None = None) -> int:
        """How many feeds ``scope`` follows."""
        exact, params = scope_clause("scope", scope)
        return int(
            self.store.query(f"SELECT count(*) AS n FROM feed_subscriptions WHERE {exact}", params)[0]["n"]
        )

    def followers(self, url: str) -> list[Feed]:
        """The feed once for each scope that follows it (shared first)."""
        return self._subscribed("f.url = ?", [url])

    def polled(self) -> list[Feed]:
        """Every feed some scope follows, once each, with its health (validators are a follower's:
        see `followers`)."""
        rows = self.store.query(
            f"SELECT {_FEED}, NULL AS etag, NULL AS last_modified, NULL AS name, NULL AS scope, "
            "f.added_at, 0 AS items_stored, 0 AS items_failing, NULL AS item_error FROM feeds f ORDER BY 1"
        )
        return [_feed(row) for row in rows]

    def claim(self, urls: Sequence[str], now: datetime, lease: timedelta, *, force: bool = False) -> set[str]:
        """Take these feeds for one poll, once across the processes sharing the store: those no other
        poll took less than its lease ago (every one when ``force``), each kept from the others for
        ``lease`` after ``now``. A poll that dies leaves its feeds to the others once the lease ends."""
        until = (now + lease).timestamp()
        return set(self.store.claim("feeds", urls, self.claimant, now.timestamp(), until, force=force))

    def _subscribed(self, where: str, params: list[str]) -> list[Feed]:
        rows = self.store.query(
            f"SELECT {_FEED}, s.etag, s.last_modified, s.name, s.scope, s.added_at, {_ITEM_COUNTS} "
            f"FROM feeds f JOIN feed_subscriptions s ON s.feed_url = f.url WHERE {where} "
            "ORDER BY s.scope IS NOT NULL, s.added_at, f.url",
            params,
        )
        return [_feed(row) for row in rows]

    def seen(self, feed_url: str, guids: Sequence[str], scope: str | None = None) -> set[str]:
        """Which of ``guids`` were already taken from the feed into ``scope``."""
        exact, params = scope_clause("scope", scope)
        found: set[str] = set()
        for start in range(0, len(guids), _SQL_BATCH):
            batch = guids[start : start + _SQL_BATCH]
            marks = ", ".join("?" * len(batch))
            rows = self.store.query(
                f"SELECT guid FROM feed_items WHERE feed_url = ? AND {exact} AND guid IN ({marks})",
                [feed_url, *params, *batch],
            )
            found.update(row["guid"] for row in rows)
        return found

    def mark_seen(
        self, feed_url: str, items: Iterable[tuple[str, str | None]], now: datetime, scope: str | None = None
    ) -> None:
        """Record (guid, link) pairs as taken into ``scope``; call only after the ingest accepted them."""
        rows = [(feed_url, scope, guid, link, utc_iso(now)) for guid, link in items]
        with self.store.transaction():
            self.store.execute_many(
                "INSERT OR IGNORE INTO feed_items (feed_url, scope, guid, link, seen_at) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def forget_gone(self, feed_url: str, present: Iterable[str], before: datetime) -> int:
        """Forget the items seen before ``before`` that the feed no longer lists, so `feed_items` stays
        the size of the feeds rather than of their history. Returns how many were forgotten."""
        keep = set(present)
        with self.store.transaction():
            rows = self.store.query(  # as times, not text: "12:00:00+00:00" sorts before "12:00:00.5+00:00"
                "SELECT rowid, guid FROM feed_items WHERE feed_url = ? AND julianday(seen_at) < julianday(?)",
                [feed_url, utc_iso(before)],
            )
            gone = [(row["rowid"],) for row in rows if row["guid"] not in keep]
            self.store.execute_many("DELETE FROM feed_items WHERE rowid = ?", gone)
        return len(gone)

    def failing(self, feed_url: str) -> dict[str, datetime]:
        """The feed's items that the last attempt could not take, and when each first failed."""
        rows = self.store.query(
            "SELECT guid, first_failed_at FROM feed_item_failures WHERE feed_url = ?", [feed_url]
        )
        return {row["guid"]: datetime.fromisoformat(row["first_failed_at"]) for row in rows}

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
        with self.store.transaction():
            self.store.execute_many(
                "INSERT INTO feed_item_failures (feed_url, guid, first_failed_at, error) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(feed_url, guid) DO UPDATE SET error = excluded.error",
                [(feed_url, guid, utc_iso(now), error) for guid, error in failed.items()],
            )
            stale = [guid for guid in self.failing(feed_url) if guid not in listed]
            self.store.execute_many(
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
        exact, _ = scope_clause("scope", None)
        with self.store.transaction():
            self.store.execute(
                "UPDATE feeds SET last_polled_at = ?, last_ok_at = ?, last_error = NULL, "
                "consecutive_failures = 0, next_poll_after = NULL WHERE url = ?",
                [utc_iso(now), utc_iso(now), url],
            )
            self.store.execute_many(
                f"UPDATE feed_subscriptions SET etag = ?, last_modified = ? WHERE feed_url = ? AND {exact}",
                [(etag, last_modified, url, *scope_clause("scope", scope)[1]) for scope in scopes],
            )

    def record_failure(self, url: str, now: datetime, error: str) -> Feed | None:
        """Note the error and back off exponentially; None if the feed was removed meanwhile."""
        with self.store.transaction():
            rows = self.store.query("SELECT consecutive_failures AS n FROM feeds WHERE url = ?", [url])
            if not rows:
                return None
            failures = (rows[0]["n"] or 0) + 1
            self.store.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, consecutive_failures = ?, "
                "next_poll_after = ? WHERE url = ?",
                [utc_iso(now), error, failures, utc_iso(now + backoff(failures, self.settings)), url],
            )
        return self.get(url)


def _feed(row: dict[str, Any]) -> Feed:
    return Feed(
        url=row["url"],
        name=row["name"],
        added_at=datetime.fromisoformat(row["added_at"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_polled_at=stored_time(row["last_polled_at"]),
        last_ok_at=stored_time(row["last_ok_at"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"] or 0,
        next_poll_after=stored_time(row["next_poll_after"]),
        scope=row["scope"],
        items_stored=row["items_stored"],
        items_failing=row["items_failing"],
        item_error=row["item_error"],
    )
