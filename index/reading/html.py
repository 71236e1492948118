"""Article extraction from an HTML page, offline: the page is given, never fetched."""

from __future__ import annotations

import logging
import re

import trafilatura
import webencodings
from tld import get_fld
from yarl import URL

from index.core.models import ArticleIn
from index.reading.clean import clean_text, shorten

log = logging.getLogger(__name__)

# Only dates the page states (meta tags, <time>, structured data, URL): a date guessed from the body
# text would mislabel the article.
_DATE_PARAMS = {"original_date": True, "extensive_search": False}

# Shorter than a sentence: a menu or an error page, not an article.
_MIN_CHARS = 40

_META_FIELDS = ("author", "description", "categories", "tags", "language", "image")

_DECLARED_CHARSET = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode_page(body: bytes, charset: str | None = None) -> str:
    """``body`` decoded as a browser would (see `_encoding`), ``charset`` being what the HTTP header
    said: up to a few tenths of a second of CPU on a 5 MB page, so called off the event loop."""
    return webencodings.decode(body, _encoding(charset, body), errors="replace")[0]


def _encoding(charset: str | None, body: bytes) -> webencodings.Encoding:
    """The encoding of a page: the HTTP header's charset, else the one the document declares, else
    UTF-8 (a byte order mark overrides all three, see `webencodings.decode`).

    Only the encodings of the WHATWG Encoding Standard count, their labels read as it says ("latin1"
    is windows-1252); any other name is ignored. Python's own codecs must not be reachable from a
    page: punycode decodes in quadratic time (minutes on a 5 MB page), and a name like cp500 would
    only turn the page into noise.
    """
    header = _web_encoding(charset)
    if header is not None:
        return header
    match = _DECLARED_CHARSET.search(body[:4096])
    declared = _web_encoding(match.group(1).decode("ascii")) if match else None
    if declared is None or declared.name in ("utf-16le", "utf-16be"):
        # Found by reading the bytes as ASCII, the page cannot be UTF-16 (HTML's prescan rule).
        return webencodings.UTF8
    if declared.name == "x-user-defined":  # the prescan rule again
        return webencodings.lookup("windows-1252")
    return declared


def _web_encoding(label: str | None) -> webencodings.Encoding | None:
    """The WHATWG encoding ``label`` names, if any. Not "replacement" (what the standard makes of
    ISO-2022-KR, HZ and the like, so that nothing is read from them): its decoder here spends a second
    of CPU, the GIL held, on 5 MB, to give what a browser reads as one U+FFFD."""
    encoding = webencodings.lookup(label) if label else None
    return None if encoding is None or encoding.name == "replacement" else encoding


def extract_article(html: str, url: str | None = None) -> ArticleIn | None:
    """The page's main article with its metadata, or None when the page holds no article text.

    ``url`` is where the page was fetched from. What the page says of itself, its canonical URL (or
    og:url) and its outlet (og:site_name), is taken only when that URL is on the same site (`site_of`):
    any page can name another outlet's article as its own, and since ingest matches articles by URL,
    believing it would cite the page as that outlet and replace the outlet's stored article. Otherwise
    the article is the fetched URL's, from that site, and the page's word is kept in ``meta`` as
    ``claimed_url`` / ``claimed_source`` (shown as a claim, as for an uploaded file). A saved page (no
    ``url``) is taken at its word: whoever ingests a file vouches for it, and uploads are claims anyway.
    """
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
    page_url, source = doc.url or url, doc.sitename or doc.hostname  # the hostname is the page_url's
    if url and page_url and site_of(page_url) != site_of(url):
        log.info("page %s names %s as its address: kept as a claim", url, page_url)
        claims = {"claimed_url": page_url, "claimed_source": source}
        meta.update({key: value for key, value in claims.items() if value})
        page_url, source = url, site_of(url)
    return ArticleIn(
        title=title or shorten(text.partition("\n")[0], 100),
        text=text,
        url=page_url,
        source=source,
        published=doc.date or None,
        meta=meta,
        origin=url or "",
    )


def site_of(url: str) -> str | None:
    """The site a URL is on: its registrable domain by the Public Suffix List ("bbc.co.uk" for
    m.bbc.co.uk, so a mobile or AMP page may name the main one; "alice.github.io", not github.io), else
    its host without "www." (an IP address, a name under no known suffix); None without a host."""
    try:
        host = URL(url).raw_host  # as the fetcher parses it, internationalised names in their ASCII form
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").lower()
    return get_fld(host, fix_protocol=True, fail_silently=True) or host.removeprefix("www.")
