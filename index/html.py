"""Article extraction from an HTML page, offline: the page is given, never fetched."""

from __future__ import annotations

import logging

import trafilatura

from index.clean import clean_text, shorten
from index.models import ArticleIn

log = logging.getLogger(__name__)

# Only dates the page states (meta tags, <time>, structured data, URL): a date guessed from the body
# text would mislabel the article.
_DATE_PARAMS = {"original_date": True, "extensive_search": False}

# Shorter than a sentence: a menu or an error page, not an article.
_MIN_CHARS = 40

_META_FIELDS = ("author", "description", "categories", "tags", "language", "image")


def extract_article(html: str, url: str | None = None) -> ArticleIn | None:
    """The page's main article with its metadata, or None when the page holds no article text."""
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if doc is None:
        log.debug("nothing extracted from page %s", url or "(no url)")
        return None
    # trafilatura puts one paragraph per line; blank lines keep them apart for clean_text's blocks.
    text = clean_text((doc.text or "").replace("\n", "\n\n"))
    title = " ".join((doc.title or "").split())
    first, _, rest = text.partition("\n")
    if title and " ".join(first.split()) == title:  # the page's <h1> repeats the title
        text = rest.strip()
    if len(text) < _MIN_CHARS:
        log.debug("no article text in page %s", url or "(no url)")
        return None
    meta = {name: value for name in _META_FIELDS if (value := getattr(doc, name, None))}
    return ArticleIn(
        title=title or shorten(text.partition("\n")[0], 100),
        text=text,
        url=doc.url or url,
        source=doc.sitename or doc.hostname,  # the hostname comes from the (canonical) url
        published=doc.date or None,
        meta=meta,
        origin=url or "",
    )
