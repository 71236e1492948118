"""An `AskResult` as embeds: the quotes with their best sentence in bold, their sources, how sure."""

from __future__ import annotations

import math
from dataclasses import replace

import discord

from bot.reports import differing_line as sources_differ
from bot.reports import newer_line
from bot.text import (
    DESCRIPTION_LIMIT,
    NAME_LIMIT,
    TITLE_LIMIT,
    blockquote,
    citation,
    day,
    escape,
    highlight,
    link,
    one_line,
    outlets_line,
    source_name,
    trim,
)
from index import Answer, AskResult, Differing

PAGE_SIZE = 2  # quotes per page; "More answers" shows the next ones
# The engine's confidence clearing its refusal threshold by this much is "high": on news-dev and the
# news questions the reranker did not train on, 80% of such first quotes were right (46% of the
# answerable questions clear it), against 76% of all answered (`bench/fit_refusal.py` prints the table).
HIGH_MARGIN = 1.5
QUOTE_ROOM = 40  # the least of a quote shown, whatever room its sources take
FIGURE_LIMIT = 40  # a figure as shown where sources differ
REFUSAL = "The news I have doesn't say."
ANSWERED = discord.Colour.blurple()
REFUSED = discord.Colour.light_grey()


def confidence(value: float, threshold: float) -> str:
    """How sure the engine is that its best quote answers, in words: below its refusal threshold is "low"."""
    if value < threshold:
        return "low"
    return "high" if value >= threshold + HIGH_MARGIN else "medium"


def page_count(answers: int) -> int:
    return max(1, math.ceil(answers / PAGE_SIZE))


def page_of(result: AskResult, page: int) -> list[Answer]:
    return result.answers[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]


def source_lines(answer: Answer, room: int) -> str:
    """The citation (linked to the quoted sentence itself), who else carried the story, and whether
    newer coverage of it exists; links are dropped while the lines do not fit in ``room``, the
    citation's last."""
    tiers = ((True, True), (True, False), (False, False))  # (citation linked, the other lines linked)
    for cite, others in tiers:
        url = (answer.link or answer.article.url) if cite else None
        lines = (
            "— " + citation(replace(answer.article, url=url)),
            _carried(answer, others),
            _newer(answer, others),
        )
        text = "\n".join(line for line in lines if line)
        if len(text) <= room:
            break
    return text


def _carried(answer: Answer, linked: bool) -> str:
    """ "Reported by 3 outlets, first on DAY · Also reported by ..." for a story with wire copies."""
    copies = answer.also_reported_by
    carried = outlets_line(copies, limit=600 if linked else 0) if copies else ""  # limit 0: unlinked
    reported = answer.reported_by
    if reported is None:
        return carried
    first = f", first on {day(reported.first)}" if reported.first else ""
    return f"Reported by {reported.outlets} outlets{first}" + (f" · {carried}" if carried else "")


def _newer(answer: Answer, linked: bool) -> str:
    if not answer.newer:
        return ""
    newest = answer.newer[0]
    return newer_line(answer.newer, link(newest.title, newest.url if linked else None, NAME_LIMIT))


def differing_line(differing: list[Differing]) -> str:
    """The figures the top answers disagree on, each with the outlet and day that state it."""
    return sources_differ(
        (
            f"**{trim(escape(one_line(d.figure)), FIGURE_LIMIT)}**",
            trim(escape(one_line(source_name(d.article))), NAME_LIMIT),
            d.article.published,
        )
        for d in differing
    )


def _blocks(answers: list[Answer], text: str, room: int) -> list[str]:
    """Each answer's ``text`` ("quote" or "context") quoted with its sources, sharing ``room`` evenly."""
    share = room // max(len(answers), 1)
    blocks = []
    for answer in answers:
        sources = source_lines(answer, share - QUOTE_ROOM - 3)
        quoted = highlight(getattr(answer, text), answer.sentence, max(share - len(sources) - 3, QUOTE_ROOM))
        blocks.append(blockquote(quoted) + "\n" + sources)
    return blocks


def _title(question: str) -> str:
    return trim(escape(one_line(question)), TITLE_LIMIT)


def search_hint(question: str) -> str:
    return f"Try **/search** to browse related articles, with query: {escape(trim(one_line(question), 200))}"


def answer_embed(result: AskResult, page: int, threshold: float) -> discord.Embed:
    """One page of quotes; a refusal says so plainly and points to /search."""
    answers = page_of(result, page)
    if result.answered:
        head, hint = "", ""
    elif answers:
        head = REFUSAL + " The closest passages are not confident answers:"
        hint = search_hint(result.question)
    else:
        head = REFUSAL + " Nothing I have indexed matches that question."
        hint = search_hint(result.question)
    differs = differing_line(result.differing) if result.differing and page == 0 else ""
    room = DESCRIPTION_LIMIT - len(head) - len(differs) - len(hint) - 2 * (len(answers) + 3)
    parts = (head, *_blocks(answers, "quote", room), differs, hint)
    description = "\n\n".join(part for part in parts if part)
    embed = discord.Embed(
        title=_title(result.question),
        description=description,
        colour=ANSWERED if result.answered else REFUSED,
    )
    if answers:
        first = page * PAGE_SIZE + 1
        shown = f"quotes {first}–{first + len(answers) - 1} of {len(result.answers)}"
        # The engine's confidence is about its best quote, which only the first page shows.
        sure = f"confidence: {confidence(result.confidence, threshold)} · " if page == 0 else ""
        embed.set_footer(text=sure + shown)
    return embed


def context_embed(result: AskResult, page: int) -> discord.Embed:
    """The passages around the quotes on a page, for the reader who wants more than the quote."""
    answers = page_of(result, page)
    room = DESCRIPTION_LIMIT - 2 * len(answers)
    description = "\n\n".join(_blocks(answers, "context", room))
    return discord.Embed(title=_title(result.question), description=description, colour=ANSWERED)
