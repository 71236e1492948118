"""Quotes and their articles as the commands print them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index import ArticleRef, AskResult


def format_result(result: AskResult) -> str:
    """The best quote with its citation, or the news not saying, with the closest passage."""
    if not result.answers:
        return "The news I have doesn't say: nothing indexed matches that question."
    if not result.answered:
        return (
            "The news I have doesn't say. The closest passage is not a confident answer:\n\n"
            f"{quoted(result.answers[0].quote)}\n{citation(result.answers[0].article)}\n\n"
            f"Try `newsbot search {json.dumps(result.question)}` to browse related articles."
        )
    best = result.answers[0]
    return f"{quoted(best.quote)}\n{citation(best.article)}"


def quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def citation(article: ArticleRef) -> str:
    claim = f" (claims: {article.claimed_source})" if article.claimed_source else ""
    source = f"uploaded to server {article.scope}" if article.uploaded else article.source or "unknown outlet"
    source += claim
    parts = [article.title, source, (article.published or "undated")[:10]]
    if article.url:
        parts.append(article.url)
    return "  — " + " · ".join(parts)
