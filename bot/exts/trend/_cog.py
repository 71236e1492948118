"""/trend: how much coverage something has had over time, as a chart attached to the reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chart import draw
from bot.checks import rate_limited
from bot.exts.trend._render import chart_file, trend_embed
from bot.options import Query, Since, Until, make_filters
from index import trend_of

if TYPE_CHECKING:
    from bot.app import NewsBot


class TrendChart(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(description="Chart how many articles about something appeared over time, by outlet")
    @app_commands.describe(
        query="What the articles should be about",
        since="Only articles published on or after this day (YYYY-MM-DD)",
        until="Only articles published on or before this day (YYYY-MM-DD)",
    )
    @rate_limited()  # a search, and a chart drawn on the engine's threads
    async def trend(
        self,
        interaction: discord.Interaction,
        query: Query,
        since: Since | None = None,
        until: Until | None = None,
    ) -> None:
        filters = await make_filters(interaction, None, since, until)
        await interaction.response.defer(thinking=True)
        counted = await self.bot.run_question(trend_of, self.bot.engine, query, filters)
        if not counted.total:
            await interaction.edit_original_response(embed=trend_embed(counted))
            return
        png = await self.bot.run_admin(draw, counted)
        await interaction.edit_original_response(embed=trend_embed(counted), attachments=[chart_file(png)])
