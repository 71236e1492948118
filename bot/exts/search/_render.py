"""Search hits as pages of an embed: each article with its best passage."""

from __future__ import annotations

import math

import discord

from bot.text import (
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    blockquote,
    citation,
    escape,
    highlight,
    one_line,
    trim,
)
from index import SearchHit

PAGE_SIZE = 3
RESULTS = 15  # articles fetched per search: five pages
COLOUR = discord.Colour.blurple()


def page_count(hits: int) -> int:
    return max(1, math.ceil(hits / PAGE_SIZE))


def hit_field(rank: int, hit: SearchHit) -> tuple[str, str]:
    """A field's name (rank and title) and value (passage with its best sentence bold, then the source)."""
    name = trim(f"{rank}. " + escape(one_line(hit.article.title)), FIELD_NAME_LIMIT)
    source = "— " + citation(hit.article, with_title=False)
    passage = highlight(hit.passage, hit.sentence, max(FIELD_VALUE_LIMIT - len(source) - 3, 40))
    return name, blockquote(passage) + "\n" + source


def search_embed(query: str, hits: list[SearchHit], page: int) -> discord.Embed:
    embed = discord.Embed(title=trim("Search: " + escape(one_line(query)), TITLE_LIMIT), colour=COLOUR)
    if not hits:
        embed.description = "No articles match. Try other words, or drop the outlet and date filters."
        return embed
    first = page * PAGE_SIZE
    for rank, hit in enumerate(hits[first : first + PAGE_SIZE], first + 1):
        name, value = hit_field(rank, hit)
        embed.add_field(name=name, value=value, inline=False)
    articles = f"{len(hits)} article" + ("s" if len(hits) > 1 else "")
    embed.set_footer(text=f"page {page + 1} of {page_count(len(hits))} · {articles}")
    return embed
