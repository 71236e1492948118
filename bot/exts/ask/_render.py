"""An `AskResult` as embeds: the quotes with their best sentence in bold, their sources, how sure."""

from __future__ import annotations

import math

import discord

from bot.text import (
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    blockquote,
    citation,
    escape,
    highlight,
    one_line,
    outlets_line,
    trim,
)
from index.answer import Answer, AskResult

PAGE_SIZE = 2  # quotes per page; "More answers" shows the next ones
# The engine's confidence clearing its refusal threshold by this much is "high": on the project's news
# questions and news-dev, 78% of such first quotes were right (half of the answerable questions clear
# it), against 74% of all answered (`bench/fit_refusal.py` prints the table).
HIGH_MARGIN = 1.0
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


def source_lines(answer: Answer) -> str:
    lines = "— " + citation(answer.article)
    if answer.also_reported_by:
        lines += "\n" + outlets_line(answer.also_reported_by)
    return lines


def _blocks(answers: list[Answer], text: str, room: int) -> list[str]:
    """Each answer's ``text`` ("quote" or "context") quoted with its sources, sharing ``room`` evenly."""
    share = room // max(len(answers), 1)
    blocks = []
    for answer in answers:
        sources = source_lines(answer)
        quoted = highlight(getattr(answer, text), answer.sentence, max(share - len(sources) - 3, 40))
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
    room = DESCRIPTION_LIMIT - len(head) - len(hint) - 2 * (len(answers) + 2)
    description = "\n\n".join(part for part in (head, *_blocks(answers, "quote", room), hint) if part)
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
