"""/search: the articles most related to a query, a page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import rate_limited
from bot.exts.search._render import PAGE_SIZE, RESULTS, search_embed
from bot.exts.search._views import SearchView
from bot.options import Since, Until, make_filters, outlet_autocomplete

if TYPE_CHECKING:
    from bot.app import NewsBot


class Search(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(description="Find the articles about something, each with its best passage")
    @app_commands.describe(
        query="What the articles should be about",
        outlet="Only articles from this outlet",
        since="Only articles published on or after this day (YYYY-MM-DD)",
        until="Only articles published on or before this day (YYYY-MM-DD)",
    )
    @app_commands.autocomplete(outlet=outlet_autocomplete)
    @rate_limited()
    async def search(
        self,
        interaction: discord.Interaction,
        query: str,
        outlet: str | None = None,
        since: Since | None = None,
        until: Until | None = None,
    ) -> None:
        filters = await make_filters(interaction, outlet, since, until)
        await interaction.response.defer(thinking=True)
        hits = await self.bot.run_engine(self.bot.engine.search, query, RESULTS, filters)
        view = SearchView(interaction.user.id, query, hits) if len(hits) > PAGE_SIZE else None
        message = await interaction.edit_original_response(embed=search_embed(query, hits, 0), view=view)
        if view is not None:
            view.message = message
