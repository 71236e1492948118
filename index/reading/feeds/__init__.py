"""RSS and Atom feeds: which feeds to follow, which of their items were already taken, and polling them.

An item counts as seen only once the engine's ingest has accepted it, so an interrupted poll (a crash,
downtime, a failing ingest) is caught up by the next one: every item still in the feed and not seen is
taken then. For the same reason a feed's ETag / Last-Modified are stored only after a complete poll;
storing them earlier would let a 304 hide the items that were never ingested.

An item whose article page fails for a reason that may pass (a timeout, 429, 5xx) waits for a later poll
rather than being stored, for good, as the feed's summary: only after
``NEWSBOT_FEED_ITEM_RETRY_MINUTES`` of failures is the summary taken instead. A poll takes at most
``NEWSBOT_FEED_MAX_ITEMS`` items from one feed (the newest, as feeds list them first); a feed of
thousands is taken over several polls.

Scopes: a feed is followed by scopes (shared news, or a Discord server: `feed_subscriptions`), each
under a name of its own. It is fetched once per poll, whoever follows it, and each item is stored
once per scope that follows it (seen items are kept per scope), so it is visible to exactly those
scopes and each scope's copy is matched, replaced and forgotten within that scope only. When the
shared scope follows a feed its items are stored as shared news alone: every server sees them then.
ETag / Last-Modified are kept per follower too, and sent only when every follower took the feed at
them: a scope that follows a feed since another's poll (or that a failure left behind) must not be
answered with a 304 hiding the items it never took.

The package: `store` (the feeds' tables: `FeedStore`), `poll` (`poll_feeds`), `entries` (a feed's items
as articles, HTML to text).
"""

from index.reading.feeds.entries import FeedError, parse_feed
from index.reading.feeds.poll import FeedResult, Ingest, PollReport, poll_feeds
from index.reading.feeds.store import Feed, FeedStore, backoff, validate_feed_url

__all__ = [
    "Feed",
    "FeedError",
    "FeedResult",
    "FeedStore",
    "Ingest",
    "PollReport",
    "backoff",
    "parse_feed",
    "poll_feeds",
    "validate_feed_url",
]
