"""What /ingest is given: web addresses (one or several in its `url` option) and an attached file."""

from __future__ import annotations

from bot.errors import UserError
from bot.reports import plural
from bot.text import escape, one_line, trim
from index import is_url

MAX_URLS = 50  # per command; a Discord option holds at most 6,000 characters anyway


def parse_urls(text: str | None) -> list[str]:
    """The addresses in ``text`` (separated by spaces or new lines), each once, in order; a `UserError`
    for one that is no http(s) URL or for too many."""
    urls = list(dict.fromkeys((text or "").split()))
    if len(urls) > MAX_URLS:
        raise UserError(f"That is {len(urls)} addresses; give me at most {MAX_URLS} at a time.")
    for url in urls:
        if not is_url(url):
            shown = trim(escape(one_line(url)), 100)
            raise UserError(f"Each `url` must start with http:// or https://; “{shown}” does not.")
    return urls


def describe_sources(urls: list[str], filename: str | None) -> str:
    """What a job adds, as its messages name it: "quay.jsonl and 3 web pages"."""
    parts = [f"“{trim(escape(one_line(filename)), 100)}”"] if filename else []
    if urls:
        parts.append(plural(len(urls), "web page"))
    return " and ".join(parts)
