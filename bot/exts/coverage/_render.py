"""What the index holds, as an embed: how many articles, from which outlets, over which dates."""

from __future__ import annotations

import datetime
from typing import Any

import discord

from bot.text import FIELD_VALUE_LIMIT, NAME_LIMIT, escape, one_line, trim

SHOWN_OUTLETS = 10
COLOUR = discord.Colour.blurple()


def _when(iso: str | None) -> str:
    """An ISO timestamp as a Discord timestamp (shown in the reader's time zone), else as it is."""
    if not iso:
        return "never"
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return escape(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return f"{discord.utils.format_dt(moment, 'f')} ({discord.utils.format_dt(moment, 'R')})"


def outlets_text(outlets: list[dict[str, Any]]) -> str:
    lines = [
        f"{trim(escape(one_line(o['source'])), NAME_LIMIT)} ({o['articles']:,})"
        for o in outlets[:SHOWN_OUTLETS]
    ]
    if len(outlets) > SHOWN_OUTLETS:
        lines.append(f"… and {len(outlets) - SHOWN_OUTLETS:,} more")
    return trim("\n".join(lines), FIELD_VALUE_LIMIT) or "none yet"


def coverage_embed(stats: dict[str, Any]) -> discord.Embed:
    published = stats["published"]
    embed = discord.Embed(title="What I have read", colour=COLOUR)
    embed.add_field(name="Articles", value=f"{stats['articles']:,}")
    embed.add_field(name="Sentences", value=f"{stats['sentences']:,}")
    embed.add_field(name="Outlets", value=f"{len(stats['outlets']):,}")
    if published["first"]:
        span = f"{escape(published['first'][:10])} to {escape((published['last'] or '')[:10])}"
    else:
        span = "no dated articles"
    embed.add_field(name="Published", value=span, inline=False)
    embed.add_field(name="Last ingest", value=_when(stats["last_ingest"]), inline=False)
    embed.add_field(name="Most articles from", value=outlets_text(stats["outlets"]), inline=False)
    return embed
