"""Quotes and their articles as the commands print them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.reports import day, differing_line, newer_line

if TYPE_CHECKING:
    from index import ArticleRef, AskResult


def format_result(result: AskResult) -> str:
    """The best quote with its citation, or the news not saying, with the closest passage. An answer
    also says, as Discord does, where its story went next and which figures its sources differ on."""
    if not result.answers:
        return "The news I have doesn't say: nothing indexed matches that question."
    if not result.answered:
        return (
            "The news I have doesn't say. The closest passage is not a confident answer:\n\n"
            f"{quoted(result.answers[0].quote)}\n{citation(result.answers[0].article)}\n\n"
            f"Try `newsbot search {json.dumps(result.question)}` to browse related articles."
        )
    best = result.answers[0]
    lines = [quoted(best.quote), citation(best.article)]
    if best.newer:  # the newest's title, and its URL as the citation gives one
        newest = best.newer[0]
        lines.append(
            "  " + newer_line(best.newer, f"{newest.title} ({newest.url})" if newest.url else newest.title)
        )
    if result.differing:
        figures = ((d.figure, source(d.article), d.article.published) for d in result.differing)
        lines.append("\n" + differing_line(figures))
    return "\n".join(lines)


def quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def source(article: ArticleRef) -> str:
    """Who the article is from: its outlet, or the server it was uploaded to, with what it claims."""
    claim = f" (claims: {article.claimed_source})" if article.claimed_source else ""
    return (
        f"uploaded to server {article.scope}" if article.uploaded else article.source or "unknown outlet"
    ) + claim


def citation(article: ArticleRef) -> str:
    parts = [article.title, source(article), day(article.published)]
    if article.url:
        parts.append(article.url)
    return "  — " + " · ".join(parts)
