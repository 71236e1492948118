"""A trend as a reply: an embed saying what the attached chart shows, or that there is nothing to chart."""

from __future__ import annotations

import io

import discord

from bot.reports import trend_summary
from bot.text import DESCRIPTION_LIMIT, TITLE_LIMIT, escape, one_line, trim
from index import Trend

FILENAME = "trend.png"
COLOUR = discord.Colour.blurple()


def trend_embed(trend: Trend) -> discord.Embed:
    """The summary, with the chart as its image when there is one (`chart_file`)."""
    embed = discord.Embed(
        title=trim("Coverage: " + escape(one_line(trend.query)), TITLE_LIMIT),
        description=trim(escape(trend_summary(trend)), DESCRIPTION_LIMIT),
        colour=COLOUR,
    )
    if trend.total:
        embed.set_image(url=f"attachment://{FILENAME}")
    return embed


def chart_file(png: bytes) -> discord.File:
    return discord.File(io.BytesIO(png), FILENAME, description="Articles over time, by outlet")
