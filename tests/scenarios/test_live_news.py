"""Live news through the engine: feeds from two outlets carrying one wire story, URL ingest, and
date filters applied before the top-k cut. A local web server stands in for the outlets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from webserver import RSS, WebServer, rss

from index.core.models import ArticleIn
from index.engine import Engine
from index.storage.store import Filters

STORY = [
    "Divers recovered a bronze bell from the wreck of the Marguerite off Port Ellis on Tuesday.",
    "The bell was cast in 1871, according to the maritime museum in Ellis Harbour.",
    "It will be cleaned by conservators before going on display in the spring.",
    "The wreck was found by a fishing crew last year, lying in 30 metres of water.",
    "Museum staff said the find was remarkable for its condition after so long at sea.",
]


def page(site: str, url: str, lead: str = "") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in ([lead] if lead else []) + STORY)
    return (
        f'<html><head><title>Bell raised from the Marguerite</title><meta property="og:site_name" '
        f'content="{site}"><link rel="canonical" href="{url}"><meta property="article:published_time" '
        f'content="2024-05-14"></head><body><article><h1>Bell raised from the Marguerite</h1>{paragraphs}'
        "</article></body></html>"
    )


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    async with WebServer() as web_server:
        yield web_server


@pytest.fixture
def engine(backend_settings) -> Engine:
    """On SQLite and on PostgreSQL: feeds, wire copies and date filters are the store's to keep alike."""
    engine = Engine(backend_settings.model_copy(update={"allow_private_urls": True}))
    yield engine
    engine.close()


async def test_a_wire_story_from_two_feeds_is_stored_once_with_both_outlets(server, engine):
    for outlet, lead in (("coastpost", ""), ("harbourtimes", "From our wire service.")):
        url = server.add(
            f"/{outlet}/bell.html", page(outlet.title(), server.url(f"/{outlet}/bell.html"), lead)
        )
        feed = server.add(
            f"/{outlet}/rss.xml",
            rss(outlet, [{"guid": "bell", "title": "Bell", "link": url}]),
            content_type=RSS,
        )
        engine.feeds.add(feed)
    report = await engine.poll_feeds()
    assert report.new_items == 2 and not report.failed
    stats = engine.stats()
    assert stats["articles"] == 2
    assert stats["sentences"] in (len(STORY), len(STORY) + 1)  # one story's sentences; the copy adds none
    answer = engine.ask("when was the bell cast?").answers[0]
    assert answer.sentence == STORY[1]
    outlets = {answer.article.source, *(o.source for o in answer.also_reported_by)}
    assert outlets == {"Coastpost", "Harbourtimes"} and len(answer.also_reported_by) == 1
    copy = answer.also_reported_by[0]
    assert copy.url == server.url(f"/{copy.source.lower()}/bell.html")
    assert (await engine.poll_feeds()).new_items == 0  # polling again adds nothing


async def test_ingest_by_url_fetches_and_extracts(server, engine):
    url = server.add("/coastpost/bell.html", "")
    server.add("/coastpost/bell.html", page("Coastpost", url))
    # As `newsbot ingest URL` runs it: its own event loop, here in a thread beside the server's.
    report = await asyncio.to_thread(engine.ingest_sources, [url, server.url("/missing.html")])
    assert report.new == 1
    assert [p.origin for p in report.problems] == [server.url("/missing.html")]
    hit = engine.search("bronze bell wreck")[0]
    assert (hit.article.source, hit.article.url, hit.article.published) == ("Coastpost", url, "2024-05-14")


def test_date_filters_apply_before_the_top_k_cut(engine):
    old = [
        ArticleIn(
            f"Harbour report {n}",
            f"The harbour crane number {n} was repaired.",
            id=f"old{n}",
            published="2023-01-01",
        )
        for n in range(40)
    ]
    new = [
        ArticleIn(
            f"Harbour note {n}",
            f"Crane {n} at the harbour was inspected.",
            id=f"new{n}",
            published=f"2024-02-{n + 1:02d}",
        )
        for n in range(6)
    ]
    engine.ingest(old + new)
    since = Filters(since="2024-01-01")
    hits = engine.search("harbour crane repaired", k=5, filters=since)
    assert len(hits) == 5 and all(h.article.published >= "2024-01-01" for h in hits)
    answers = engine.ask("which harbour crane was repaired?", k=5, filters=since).answers
    assert len(answers) == 5 and all(a.article.id.startswith("new") for a in answers)
    until = engine.ask("harbour crane", k=3, filters=Filters(until="2023-12-31")).answers
    assert len(until) == 3 and all(a.article.id.startswith("old") for a in until)
    window = engine.search("crane inspected", k=10, filters=Filters(since="2024-02-02", until="2024-02-03"))
    assert sorted(h.article.id for h in window) == ["new1", "new2"]
