"""Article text made safe and small enough for Discord: escaped, quoted, cut at sentence boundaries.

Plain functions with no Discord connection, so the rules every message must follow are unit-tested
here once. Everything an article says goes through `escape` before it reaches a message: article
text must never ping anyone ("@everyone"), render as a mention ("<@123>") or break the markdown
around it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from bot.reports import day
from index import ArticleRef, Outlet

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
CHOICE_LIMIT = 25  # autocomplete choices
CHOICE_TEXT_LIMIT = 100  # a choice's name and value

ELLIPSIS = "…"
# The end of a sentence: . ! ? or … with any closing quotes or brackets (maybe escaped), then a space.
_SENTENCE_END = re.compile(r"[.!?…](?:\\?[\"'”’)\]])*(?=\s)")
# A bracket after an even number of backslashes (none, or escaped ones) is not escaped.
_UNESCAPED_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]])")
_DISCORD_TAG = re.compile(r"<(?=[@#:]|a:|t:)")  # <@user> <@&role> <#channel> <:emoji:> <t:time>


def escape(text: str) -> str:
    """Text shown literally: no markdown, no mentions, no mention-like tags."""
    text = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    text = _UNESCAPED_BRACKET.sub(r"\1\\\2", text)  # escape_markdown leaves most brackets alone
    return _DISCORD_TAG.sub("<\u200b", text)


def one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed, so a quote stays one block-quoted paragraph."""
    return " ".join(text.split())


def trim(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut after the last whole sentence that fits (else a word) + "…"."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= room]
    if ends:
        return text[: ends[-1]] + " " + ELLIPSIS if ends[-1] < room else text[: ends[-1]] + ELLIPSIS
    head = text[:room]
    space = head.rfind(" ")
    # Never cut between a "\" and the character it escapes: the "\" would escape our "…".
    return (head[:space] if space > 0 else head).rstrip().rstrip("\\") + ELLIPSIS


def trim_start(text: str, limit: int) -> str:
    """At most ``limit`` characters, dropping whole sentences (else words) from the start, marked "…"."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS) - 1
    if room <= 0:
        return ELLIPSIS[:limit]
    starts = [m.end() + 1 for m in _SENTENCE_END.finditer(text) if len(text) - m.end() - 1 <= room]
    if starts:
        return ELLIPSIS + " " + text[starts[0] :].lstrip()
    tail = text[-room:]
    space = tail.find(" ")
    return ELLIPSIS + " " + tail[space + 1 :] if 0 <= space < len(tail) - 1 else ELLIPSIS


def highlight(text: str, sentence: str, limit: int) -> str:
    """``text`` escaped on one line with ``sentence`` in bold, at most ``limit`` characters.

    When it is too long the bold sentence is kept and whole sentences around it are dropped, those
    after it first: the sentence before is often the one it leans on ("They instructed...").
    """
    text, sentence = one_line(text), one_line(sentence)
    at = text.rfind(sentence) if sentence else -1
    if at < 0:
        return trim(escape(text), limit)
    bold = escape(sentence)
    if len(bold) + 4 > limit:
        return f"**{trim(bold, limit - 4)}**" if limit > 4 else trim(bold, limit)
    room = limit - len(bold) - 4
    before_raw, after_raw = text[:at], text[at + len(sentence) :]
    before = escape(before_raw.rstrip())
    lead = before_raw[len(before_raw.rstrip()) :]  # the space (if any) between it and the sentence
    before = trim_start(before, room - len(lead)) if before and room > len(lead) + 1 else ""
    room -= len(before) + len(lead) if before else 0
    after = escape(after_raw.lstrip())
    gap = after_raw[: len(after_raw) - len(after_raw.lstrip())]
    after = trim(after, room - len(gap)) if after and room > len(gap) + 1 else ""
    return (before + lead if before else "") + f"**{bold}**" + (gap + after if after else "")


def blockquote(markdown: str) -> str:
    """A one-line markdown paragraph as a Discord block quote."""
    return "> " + markdown


URL_LIMIT = 512  # longer URLs are left out rather than eat a message's room
NAME_LIMIT = 100  # an outlet's name as shown


def link(title: str, url: str | None, limit: int = TITLE_LIMIT) -> str:
    """An escaped, one-line title of at most ``limit`` characters, linked when the URL is a plain
    http(s) one of reasonable length."""
    shown = trim(escape(one_line(title)), limit) or "untitled"
    if not url or not url.startswith(("http://", "https://")) or len(url) > URL_LIMIT:
        return shown
    for char, code in (" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E"):
        url = url.replace(char, code)
    return f"[{shown}]({url})"


def source_name(article: ArticleRef) -> str:
    """Who the article is from: its outlet, or, for a file uploaded to the server, that; with the outlet
    the file, or a page that named another site's article as its own, claims, as a claim."""
    claim = f" (claims: {one_line(article.claimed_source)})" if article.claimed_source else ""
    if article.uploaded:
        return "uploaded to this server" + claim
    return (article.source or "unknown outlet") + claim


def citation(article: ArticleRef, *, with_title: bool = True) -> str:
    """The title, outlet and date of a quoted article on one line, the title (else the outlet) linked."""
    source = source_name(article)
    if with_title:
        parts = [link(article.title, article.url), trim(escape(one_line(source)), NAME_LIMIT)]
    else:
        parts = [link(source, article.url, NAME_LIMIT)]
    return " · ".join([*parts, day(article.published)])


def outlets_line(outlets: Sequence[Outlet], shown: int = 5, limit: int = 600) -> str:
    """ "Also reported by" for wire copies, linked where the copies have URLs and there is room."""
    more = f" and {len(outlets) - shown} more" if len(outlets) > shown else ""

    def line(linked: bool) -> str:
        names = (
            link(o.source or "another outlet", o.url if linked else None, NAME_LIMIT) for o in outlets[:shown]
        )
        return "Also reported by " + ", ".join(names) + more

    text = line(linked=True)
    return text if len(text) <= limit else line(linked=False)


def join_lines(lines: Sequence[str], limit: int = CONTENT_LIMIT) -> str:
    """Lines joined while they fit in ``limit`` (each cut to fit), then how many were left out."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        note = f"… and {rest} more" if rest else ""
        room = limit - used - (len(note) + 1 if note else 0)
        if len(line) + 1 > room and kept:
            kept.append(f"… and {len(lines) - index} more")
            break
        kept.append(trim(line, max(room - 1, 1)))
        used += len(kept[-1]) + 1
    return "\n".join(kept)[:limit]
