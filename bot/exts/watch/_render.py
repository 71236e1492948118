"""Watches as messages: a match posted to its channel, the list of a server's watches, confirmations."""

from __future__ import annotations

import discord

from bot.exts.ask._render import source_lines
from bot.text import DESCRIPTION_LIMIT, TITLE_LIMIT, blockquote, escape, highlight, join_lines, one_line, trim
from index import Match, Watch

COLOUR = discord.Colour.blurple()


def quoted_query(watch: Watch, limit: int = 200) -> str:
    return f"“{trim(escape(one_line(watch.query)), limit)}”"


def match_embed(match: Match) -> discord.Embed:
    """The best quote from the new articles, with its sources, and how to stop the watch."""
    answer, watch = match.answer, match.watch
    sources = source_lines(answer, DESCRIPTION_LIMIT // 2)  # the rest, at least, for the quote
    quote = highlight(answer.quote, answer.sentence, DESCRIPTION_LIMIT - len(sources) - 3)
    embed = discord.Embed(
        title=trim(f"New on {quoted_query(watch, TITLE_LIMIT)}", TITLE_LIMIT),
        description=blockquote(quote) + "\n" + sources,
        colour=COLOUR,
    )
    embed.set_footer(text=f"Watch {watch.id} · stop it with /watch remove {watch.id}")
    return embed


def added_message(watch: Watch, every_minutes: int) -> str:
    return (
        f"Watching {quoted_query(watch)} (watch {watch.id}): when new articles match it, I post the best "
        f"quote in <#{watch.channel}>, at most once every {every_minutes} minutes."
    )


def watch_line(watch: Watch) -> str:
    return f"• {watch.id}: {quoted_query(watch)} in <#{watch.channel}>, since {watch.created_at[:10]}"


def watches_message(watches: list[Watch]) -> str:
    if not watches:
        return "This server watches nothing yet: add a watch with /watch add."
    count = f"{len(watches)} {'watch' if len(watches) == 1 else 'watches'}"
    return join_lines([f"This server has {count}:", *(watch_line(w) for w in watches)])
