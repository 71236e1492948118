"""Feed storage and polling against a local server: RSS, Atom, failures, backoff, 304s and catching up."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from webserver import ATOM, RSS, WebServer, rss

from index.core.errors import FeedLimitError
from index.core.models import ArticleIn
from index.core.settings import FeedSettings, Settings
from index.reading.feeds import FeedStore, backoff, poll_feeds
from index.reading.fetch import Fetcher
from index.storage.store import Store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEEDS = FeedSettings()  # the feed settings' defaults, as the stores here back off by them
BACKOFF_BASE = timedelta(minutes=FEEDS.feed_backoff_minutes)


class Collector:
    """Stands in for the engine's ingest: keeps every batch; can be told to fail."""

    def __init__(self) -> None:
        self.batches: list[list[ArticleIn]] = []
        self.fail_with: Exception | None = None

    def __call__(self, articles: list[ArticleIn]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.batches.append(articles)

    @property
    def articles(self) -> list[ArticleIn]:
        return [article for batch in self.batches for article in batch]

    def by_title(self) -> dict[str, ArticleIn]:
        return {article.title: article for article in self.articles}


def open_store(path: Path) -> FeedStore:
    return FeedStore(Store(path), FEEDS)


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    async with WebServer() as web_server:
        web_server.fixture("/news/tidal-pilot.html", "tidal-pilot.html")
        web_server.fixture("/news/library-telescopes.html", "library-telescopes.html")
        web_server.fixture("/news/ferry-timetable.html", "ferry-timetable.html")
        yield web_server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    settings = Settings(_env_file=None, allow_private_urls=True, fetch_timeout=0.5)
    async with Fetcher(settings) as open_fetcher:
        yield open_fetcher


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedStore]:
    feed_store = open_store(tmp_path / "newsbot.db")
    yield feed_store
    feed_store.store.close()


@pytest.fixture
def ingest() -> Collector:
    return Collector()


def test_store_add_update_list_remove(store: FeedStore) -> None:
    first = store.add("https://one.example/feed.xml", "One", now=NOW)
    assert (first.name, first.added_at, first.consecutive_failures) == ("One", NOW, 0)
    store.add(" https://two.example/rss ", now=NOW + timedelta(seconds=1))
    assert store.add("https://one.example/feed.xml", "One renamed").name == "One renamed"
    assert store.add("https://one.example/feed.xml").name == "One renamed"  # no name given: kept
    assert [feed.url for feed in store.list()] == ["https://one.example/feed.xml", "https://two.example/rss"]
    for bad in ["ftp://one.example/feed.xml", "one.example/feed.xml", "http://"]:
        with pytest.raises(ValueError, match="http:// or https://"):
            store.add(bad)
    assert store.remove("https://two.example/rss")
    assert not store.remove("https://two.example/rss")
    assert [feed.url for feed in store.list()] == ["https://one.example/feed.xml"]


def test_a_scope_follows_at_most_the_feeds_it_may(store: FeedStore) -> None:
    for n in range(2):
        store.add(f"https://a.example/{n}.xml", scope="7", most=2)
    with pytest.raises(FeedLimitError) as caught:
        store.add("https://a.example/2.xml", scope="7", most=2)
    assert caught.value.count == 2
    assert store.add("https://a.example/1.xml", "renamed", scope="7", most=2).name == "renamed"  # not new
    assert store.add("https://a.example/2.xml", scope="8", most=2).url == "https://a.example/2.xml"
    assert store.count("7") == 2


async def test_rss_feed(server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector) -> None:
    feed_url = server.fixture("/rss.xml", "rss.xml", RSS)
    store.add(feed_url)
    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    assert (report.new_items, report.failed) == (3, [])
    articles = ingest.by_title()
    assert all(article.meta["feed"] == feed_url for article in articles.values())

    tidal = articles["Port Wren switches on tidal energy pilot"]  # from its page, which names a canonical URL
    assert tidal.url == server.url("/energy/port-wren-tidal-pilot")
    assert (tidal.source, tidal.published, tidal.origin) == (
        "The Example Gazette",
        "2024-03-14",
        server.url("/news/tidal-pilot.html"),
    )
    assert "seaweed" in tidal.text

    bikes = articles["Carrow council approves cross-town bike lane plan"]  # page gone: the entry's summary
    assert bikes.text == (
        "The council of the invented city of Carrow approved a cross-town bike lane on Monday night.\n\n"
        "Work on the first section starts in May, the transport office said."
    )
    assert (bikes.url, bikes.source, bikes.published) == (
        server.url("/news/removed/bike-lanes.html"),
        "Example Gazette Local",
        "2024-03-11T08:00:00+00:00",
    )

    feed = store.get(feed_url)
    assert feed is not None
    assert (feed.last_ok_at, feed.last_polled_at, feed.last_error) == (NOW, NOW, None)
    assert feed.consecutive_failures == 0


async def test_atom_feed(server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector) -> None:
    feed_url = server.fixture("/atom.xml", "atom.xml", ATOM)
    store.add(feed_url, "Courier")
    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    assert report.new_items == 2
    articles = ingest.by_title()
    ferry = articles["Island ferry adds late sailing on weekends"]
    assert (ferry.url, ferry.source) == (server.url("/news/ferry-timetable.html"), "Coastline Courier")
    assert ferry.published == "2024-04-02T07:45:00+00:00"  # the page gives none; the entry does
    orchard = articles["Orchard festival moves to the old rope works"]  # no link: the entry's content
    assert orchard.text.endswith("too small for the cider tent.")
    assert (orchard.url, orchard.origin, orchard.published) == (None, feed_url, "2024-04-01T12:00:00+00:00")
    assert orchard.meta == {"feed": feed_url}


async def test_repoll_adds_nothing(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    store.add(server.fixture("/rss.xml", "rss.xml", RSS))
    await poll_feeds(store, fetcher, ingest, now=NOW)
    page_hits = server.hits["/news/tidal-pilot.html"]
    report = await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(minutes=15))
    assert report.new_items == 0 and not report.failed
    assert len(ingest.batches) == 1
    assert server.hits["/news/tidal-pilot.html"] == page_hits
    assert server.hits["/rss.xml"] == 2


async def test_not_modified_feed_is_not_reingested(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    feed_url = server.fixture("/rss.xml", "rss.xml", RSS, conditional=True)
    store.add(feed_url)
    await poll_feeds(store, fetcher, ingest, now=NOW)
    feed = store.get(feed_url)
    assert feed is not None and feed.etag
    report = await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(minutes=15))
    assert report.feeds[0].not_modified and report.new_items == 0
    assert server.not_modified["/rss.xml"] == 1
    assert server.request_headers["/rss.xml"]["If-None-Match"] == feed.etag
    assert len(ingest.batches) == 1


async def test_restart_catches_up_items_added_while_down(
    server: WebServer, fetcher: Fetcher, tmp_path: Path, ingest: Collector
) -> None:
    def item(n: int) -> dict[str, str]:
        return {"guid": f"story-{n}", "title": f"Story {n}", "description": f"<p>Invented story {n}.</p>"}

    def serve(*numbers: int) -> None:
        server.add("/live.xml", rss("Live", [item(n) for n in numbers]), content_type=RSS, conditional=True)

    serve(2, 1)
    before = open_store(tmp_path / "newsbot.db")
    before.add(server.url("/live.xml"))
    assert (await poll_feeds(before, fetcher, ingest, now=NOW)).new_items == 2
    before.store.close()

    serve(5, 4, 3, 2, 1)  # published while the bot was down
    after = open_store(tmp_path / "newsbot.db")
    report = await poll_feeds(after, fetcher, ingest, now=NOW + timedelta(hours=3))
    after.store.close()
    assert report.new_items == 3
    assert sorted(article.title for article in ingest.batches[-1]) == ["Story 3", "Story 4", "Story 5"]
    assert server.not_modified["/live.xml"] == 0


async def test_items_gone_from_a_feed_are_forgotten_after_the_retention(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    def serve(*numbers: int) -> None:
        items = [{"guid": f"s-{n}", "title": f"Story {n}", "description": f"<p>{n}.</p>"} for n in numbers]
        server.add("/live.xml", rss("Live", items), content_type=RSS)

    def remembered() -> list[str]:
        return sorted(row["guid"] for row in store.store.query("SELECT guid FROM feed_items"))

    store.add(server.url("/live.xml"))
    serve(2, 1)
    await poll_feeds(store, fetcher, ingest, now=NOW)
    serve(3, 2)  # story 1 left the feed
    await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(days=1))
    assert remembered() == ["s-1", "s-2", "s-3"]  # too recent to forget
    forgotten = NOW + timedelta(days=fetcher.settings.feed_seen_days, hours=1)
    await poll_feeds(store, fetcher, ingest, now=forgotten)
    assert remembered() == ["s-2", "s-3"]  # story 2 is as old, but still listed
    assert [a.title for a in ingest.articles] == ["Story 2", "Story 1", "Story 3"]  # none taken twice


async def test_failed_ingest_leaves_items_for_next_poll(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    feed_url = server.fixture("/rss.xml", "rss.xml", RSS, conditional=True)
    store.add(feed_url)
    ingest.fail_with = RuntimeError("disk full")
    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    assert report.feeds[0].error == "RuntimeError: disk full"
    feed = store.get(feed_url)
    assert feed is not None
    assert (feed.consecutive_failures, feed.etag, feed.last_error) == (1, None, "RuntimeError: disk full")

    ingest.fail_with = None
    report = await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(minutes=1), force=True)
    assert report.new_items == 3  # the full feed again, not a 304 that would hide the items
    assert server.not_modified["/rss.xml"] == 0


async def test_failing_feeds_do_not_stop_the_others(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    failing = {
        server.fixture("/malformed.xml", "malformed.xml", RSS): "is not a readable RSS or Atom feed",
        server.url("/gone.xml"): "HTTP 404 from",
        server.fixture("/slow.xml", "rss.xml", RSS, delay=2.0): r"timed out after 0\.5 s",
        server.fixture("/page.html", "tidal-pilot.html"): "is not a readable RSS or Atom feed",
    }
    for url in failing:
        store.add(url)
    good = store.add(server.fixture("/rss.xml", "rss.xml", RSS)).url

    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    assert report.new_items == 3
    assert {result.url for result in report.failed} == set(failing)
    for url, message in failing.items():
        feed = store.get(url)
        assert feed is not None and feed.last_error is not None
        assert re.search(message, feed.last_error), feed.last_error
        assert (feed.consecutive_failures, feed.last_ok_at) == (1, None)
        assert feed.next_poll_after == NOW + BACKOFF_BASE
    good_feed = store.get(good)
    assert good_feed is not None and good_feed.consecutive_failures == 0


async def test_backoff_skips_then_recovers(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    feed_url = server.fixture("/feed.xml", "malformed.xml", RSS)
    store.add(feed_url)
    await poll_feeds(store, fetcher, ingest, now=NOW)

    report = await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(minutes=1))
    assert report.skipped == 1 and server.hits["/feed.xml"] == 1

    later = NOW + timedelta(minutes=2)
    await poll_feeds(store, fetcher, ingest, now=later, force=True)
    feed = store.get(feed_url)
    assert feed is not None
    assert (feed.consecutive_failures, feed.next_poll_after) == (2, later + 2 * BACKOFF_BASE)

    server.fixture("/feed.xml", "rss.xml", RSS)  # the site fixed its feed
    recovered = later + timedelta(hours=1)
    report = await poll_feeds(store, fetcher, ingest, now=recovered)
    assert report.new_items == 3
    feed = store.get(feed_url)
    assert feed is not None
    assert (feed.consecutive_failures, feed.last_error, feed.next_poll_after, feed.last_ok_at) == (
        0,
        None,
        None,
        recovered,
    )


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n, FEEDS) for n in (1, 2, 3)] == [BACKOFF_BASE, 2 * BACKOFF_BASE, 4 * BACKOFF_BASE]
    assert backoff(10, FEEDS) == backoff(1000, FEEDS) == timedelta(minutes=FEEDS.feed_backoff_max_minutes)
    quick = FeedSettings(feed_backoff_minutes=1, feed_backoff_max_minutes=3)
    assert [backoff(n, quick) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 3)]


async def test_item_without_any_text_is_retried(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    items = [
        {"guid": "a", "title": "Has text", "description": "Some invented text about a parade."},
        {"guid": "b", "title": "Link only", "link": server.url("/news/later.html")},
    ]
    feed_url = server.add("/items.xml", rss("Items", items), content_type=RSS, conditional=True)
    store.add(feed_url)
    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    assert report.new_items == 1
    later = server.url("/news/later.html")
    assert report.feeds[0].item_errors == [
        f"{later}: HTTP 404 from {later} (check the address), and the feed entry has no text"
    ]
    feed = store.get(feed_url)
    assert feed is not None and feed.etag is None  # kept empty so the next poll is not answered with a 304

    server.fixture("/news/later.html", "library-telescopes.html")
    report = await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(minutes=15))
    assert report.new_items == 1 and not report.feeds[0].item_errors
    assert ingest.articles[-1].title == "Millbrook library lends telescopes to stargazers"


@pytest.mark.parametrize(
    "failure",
    [{"status": 503}, {"status": 429}, {"status": 502}, {"delay": 2.0}],
    ids=["503", "429", "502", "timeout"],
)
async def test_a_page_failing_transiently_is_retried_at_the_next_poll_not_replaced_by_the_summary(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector, failure: dict[str, object]
) -> None:
    link = server.add("/news/flaky.html", "busy", **failure)
    items = [{"guid": "t", "title": "Tidal pilot", "link": link, "description": "A one-line summary."}]
    feed_url = server.add("/flaky.xml", rss("Flaky", items), content_type=RSS, conditional=True)
    store.add(feed_url)
    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    [error] = report.feeds[0].item_errors
    assert error.startswith(f"{link}: ") and error.endswith("; trying again at the next poll")
    assert (report.new_items, ingest.articles, report.failed) == (0, [], [])
    feed = store.get(feed_url)
    assert feed is not None
    assert (feed.items_stored, feed.items_failing, feed.item_error, feed.etag) == (0, 1, error, None)

    server.fixture("/news/flaky.html", "tidal-pilot.html")  # the site is back
    report = await poll_feeds(store, fetcher, ingest, now=NOW + timedelta(minutes=15))
    assert report.new_items == 1 and not report.feeds[0].item_errors
    [article] = ingest.articles
    assert "seaweed" in article.text  # the page's article, not the feed's summary
    feed = store.get(feed_url)
    assert feed is not None and (feed.items_stored, feed.items_failing, feed.item_error) == (1, 0, None)


async def test_a_page_still_failing_after_the_retry_window_gives_way_to_the_summary(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    link = server.add("/news/down.html", "down", status=503)
    items = [{"guid": "d", "title": "Harbour works", "link": link, "description": "Dredging starts."}]
    store.add(server.add("/down.xml", rss("Down", items), content_type=RSS))
    retry_window = timedelta(minutes=fetcher.settings.feed_item_retry_minutes)
    await poll_feeds(store, fetcher, ingest, now=NOW)
    await poll_feeds(store, fetcher, ingest, now=NOW + retry_window - timedelta(minutes=1))
    assert ingest.articles == [] and server.hits["/news/down.html"] == 2
    report = await poll_feeds(store, fetcher, ingest, now=NOW + retry_window)
    assert report.new_items == 1 and server.hits["/news/down.html"] == 3
    [article] = ingest.articles
    assert (article.title, article.text, article.url) == ("Harbour works", "Dredging starts.", link)
    assert store.failing(server.url("/down.xml")) == {}


async def test_a_site_that_keeps_failing_is_left_alone_for_the_rest_of_the_poll(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    links = [server.add(f"/down/{n}.html", "down", status=503) for n in range(30)]
    items = [{"guid": f"s{n}", "title": f"Story {n}", "link": link} for n, link in enumerate(links)]
    store.add(server.add("/many.xml", rss("Many", items), content_type=RSS))
    report = await poll_feeds(store, fetcher, ingest, now=NOW)
    errors = report.feeds[0].item_errors
    assert len(errors) == 30 and all(error.endswith("trying again at the next poll") for error in errors)
    assert any("kept failing in this poll" in error for error in errors)
    tried = sum(server.hits[f"/down/{n}.html"] for n in range(30))
    settings = fetcher.settings
    # those already waiting for the site
    assert tried <= settings.max_concurrent_feed_items + settings.feed_host_failures
    assert len(store.failing(server.url("/many.xml"))) == 30


async def test_a_big_feed_is_taken_a_capped_number_of_items_per_poll(
    server: WebServer, store: FeedStore, ingest: Collector
) -> None:
    items = [{"guid": f"s{n}", "title": f"Story {n}", "description": f"<p>Story {n}.</p>"} for n in range(25)]
    feed_url = server.add("/big.xml", rss("Big", items), content_type=RSS, conditional=True)
    store.add(feed_url)
    settings = Settings(_env_file=None, allow_private_urls=True, feed_max_items=10)
    async with Fetcher(settings) as capped:
        for poll, (new, deferred) in enumerate([(10, 15), (10, 5), (5, 0)]):
            report = await poll_feeds(store, capped, ingest, now=NOW + timedelta(minutes=15 * poll))
            assert (report.new_items, report.deferred) == (new, deferred)
            feed = store.get(feed_url)
            assert feed is not None and feed.items_stored == sum(len(b) for b in ingest.batches)
            assert (feed.etag is None) == bool(deferred)  # no 304 may hide the items still waiting
        assert (await poll_feeds(store, capped, ingest, now=NOW + timedelta(hours=1))).feeds[0].not_modified
    assert [article.title for article in ingest.articles] == [f"Story {n}" for n in range(25)]  # newest first


async def test_an_entry_date_that_is_no_date_is_kept_in_meta(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    items = [
        {"guid": "a", "title": "Undated", "description": "Invented text.", "pubDate": "last week"},
        {"guid": "b", "title": "Dated", "description": "More text.", "pubDate": "2024-04-02 10:00"},
    ]
    feed_url = server.add("/dates.xml", rss("Dates", items), content_type=RSS)
    store.add(feed_url)
    await poll_feeds(store, fetcher, ingest, now=NOW)
    articles = ingest.by_title()
    assert (articles["Undated"].published, articles["Undated"].meta) == (
        None,
        {"published_raw": "last week", "feed": feed_url},
    )
    assert articles["Dated"].published is not None and articles["Dated"].published.startswith("2024-04-02")


def test_a_server_sees_its_feeds_health_with_the_shared_copies_counted(store: FeedStore) -> None:
    url = store.add("https://news.example/rss", scope="42").url
    store.mark_seen(url, [("own-1", None)], NOW, scope="42")
    store.add(url)  # the shared scope follows it too: its items are shared news from now on
    store.mark_seen(url, [("own-1", None), ("shared-2", None)], NOW)
    store.record_items(
        url, failed={"s-3": "HTTP 503"}, taken=[], present=["own-1", "shared-2", "s-3"], now=NOW
    )
    [server_feed] = store.list("42")
    [shared_feed] = store.list()
    assert (server_feed.items_stored, server_feed.items_failing, server_feed.item_error) == (2, 1, "HTTP 503")
    assert (shared_feed.items_stored, shared_feed.items_failing) == (2, 1)
    assert store.remove(url, scope="42") and store.remove(url)
    assert store.store.count("feed_item_failures") == 0


async def test_a_server_following_a_feed_another_has_polled_still_gets_its_items(
    server: WebServer, fetcher: Fetcher, store: FeedStore, ingest: Collector
) -> None:
    """One server's poll must not leave validators that answer another's first fetch with a 304."""
    feed_url = server.fixture("/rss.xml", "rss.xml", RSS, conditional=True)
    store.add(feed_url, scope="1")
    assert (await poll_feeds(store, fetcher, ingest, now=NOW, scope="1", every_scope=False)).new_items == 3
    store.add(feed_url, scope="2")  # follows it later: the feed has not changed since server 1's poll
    report = await poll_feeds(
        store, fetcher, ingest, now=NOW + timedelta(minutes=15), scope="2", every_scope=False
    )
    assert report.new_items == 3 and not report.feeds[0].not_modified
    assert [{a.scope for a in batch} for batch in ingest.batches] == [{"1"}, {"2"}]
    assert "If-None-Match" not in server.request_headers["/rss.xml"]
    feeds = {feed.scope: feed for feed in store.followers(feed_url)}
    assert feeds["1"].etag == feeds["2"].etag is not None and feeds["2"].items_stored == 3
    # Both have taken what it lists now: a conditional fetch is safe again, for either.
    report = await poll_feeds(
        store, fetcher, ingest, now=NOW + timedelta(minutes=30), scope="1", every_scope=False
    )
    assert report.feeds[0].not_modified and len(ingest.batches) == 2


async def test_feed_validators_stored_before_they_were_per_server_are_not_trusted(
    server: WebServer, fetcher: Fetcher, tmp_path: Path, ingest: Collector
) -> None:
    """A data dir whose feeds kept one ETag for every follower: the first poll after the upgrade is a
    full fetch, so a server a 304 hid items from takes them then."""
    feed_url = server.fixture("/rss.xml", "rss.xml", RSS, conditional=True)
    before = open_store(tmp_path / "newsbot.db")
    before.add(feed_url, scope="1")
    await poll_feeds(before, fetcher, ingest, now=NOW)
    before.add(feed_url, scope="2")
    etag = before.get(feed_url, "1").etag  # type: ignore[union-attr]
    before.store.db.executescript(
        f"ALTER TABLE feed_subscriptions DROP COLUMN etag; ALTER TABLE feed_subscriptions DROP COLUMN "
        f"last_modified; UPDATE feeds SET etag = '{etag}'; "  # the layout before: the feed's validators
        "PRAGMA user_version = 0"  # and before numbered migrations
    )
    before.store.close()
    after = open_store(tmp_path / "newsbot.db")
    report = await poll_feeds(after, fetcher, ingest, now=NOW + timedelta(minutes=15))
    after.store.close()
    assert report.new_items == 3 and [a.scope for a in ingest.batches[-1]] == ["2"] * 3
