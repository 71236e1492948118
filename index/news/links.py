"""Deep links: an article's URL with a text fragment (`#:~:text=`) that scrolls a browser to the
quoted sentence and highlights it (https://wicg.github.io/scroll-to-text-fragment/).

A short quote is given whole; a long one by its first and last words (``textStart,textEnd``), which
keeps the link short enough for a Discord message, whatever the sentence's length or script.
"""

from __future__ import annotations

from urllib.parse import quote

LINK_LIMIT = 512  # the longest link the Discord front end will link (bot.text.URL_LIMIT)
WHOLE_WORDS = 8  # a quote of up to this many words is given whole
EDGE_WORDS = 4  # else this many words from each end (fewer when the link would grow too long)


def fragment_text(text: str) -> str:
    """``text`` percent-encoded as a text directive's value: everything but letters, digits and
    ``_.~`` is, '-' ',' '&' included (the directive's own syntax), non-ASCII as its UTF-8 bytes."""
    return quote(text, safe="").replace("-", "%2D")


def text_directives(quote_text: str) -> list[str]:
    """``text=...`` values for the quote, longest first: whole when short, then ``start,end`` of
    `EDGE_WORDS` words from each end, then of fewer."""
    words = quote_text.split()
    found = ["text=" + fragment_text(" ".join(words))] if len(words) <= WHOLE_WORDS else []
    for edge in range(EDGE_WORDS, 0, -1):
        if len(words) > 2 * edge:
            start, end = " ".join(words[:edge]), " ".join(words[-edge:])
            found.append(f"text={fragment_text(start)},{fragment_text(end)}")
    return found


def deep_link(url: str | None, quote_text: str) -> str | None:
    """The URL that opens the article at ``quote_text``; the plain URL when no directive fits in
    `LINK_LIMIT` (a very long URL, a quote of very long words); None without a URL."""
    if not url:
        return None
    base = url.split(":~:", 1)[0]  # a text directive already there would be matched instead of ours
    joiner = ":~:" if "#" in base else "#:~:"
    for directive in text_directives(quote_text):
        if len(base) + len(joiner) + len(directive) <= LINK_LIMIT:
            return base + joiner + directive
    return base
