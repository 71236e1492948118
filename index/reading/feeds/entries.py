"""A feed's items as articles: the feed parsed, its entries keyed, each entry's page read (else the
entry's own text, its HTML flattened to paragraphs)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import feedparser
import lxml.etree
import lxml.html
from yarl import URL

from index.core.limits import MAX_FIRST_LINE_TITLE_CHARS
from index.core.models import ArticleIn
from index.reading.clean import shorten
from index.reading.fetch import Fetcher, FetchError, FetchResult
from index.reading.readers import set_published

log = logging.getLogger(__name__)

_BLOCK_TAGS = (
    "p", "div", "br", "li", "ul", "ol", "blockquote", "pre", "table", "tr",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "figure", "figcaption", "hr",
)  # fmt: skip

_BREAK = "\ue000"  # a private-use character: marks block boundaries while flattening HTML


class FeedError(Exception):
    """A feed that could not be read; the message says what to check."""


def parse_feed(response: FetchResult) -> Any:
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


def entries_by_guid(entries: Iterable[Any]) -> dict[str, Any]:
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


class ItemReader:
    """Reading one feed's items in one poll: a few at a time (``max_concurrent_feed_items``), and sites
    that keep failing (``feed_host_failures`` transient failures) left alone."""

    def __init__(self, fetcher: Fetcher, feed_url: str) -> None:
        self.fetcher = fetcher
        self.feed_url = feed_url
        self.slots = asyncio.Semaphore(fetcher.settings.max_concurrent_feed_items)
        self.host_failures: Counter[str] = Counter()

    async def article(self, entry: Any, *, may_wait: bool) -> ArticleIn | str:
        """The article an entry links to, else one made of the entry's own text; a message if neither,
        or if the page failed transiently and the item ``may_wait`` for a later poll."""
        link = entry_link(entry)
        title = " ".join((entry.get("title") or "").split())
        article: ArticleIn | None = None
        problem = "the entry has no link and no text"
        if link:
            host = URL(link).host or ""
            try:
                if may_wait and self.host_failures[host] >= self.fetcher.settings.feed_host_failures:
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
                title=title or shorten(text.partition("\n")[0], MAX_FIRST_LINE_TITLE_CHARS),
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


def entry_link(entry: Any) -> str | None:
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
