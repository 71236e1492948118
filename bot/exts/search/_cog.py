"""/search: the articles most related to a query, a page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import rate_limited
from bot.exts.search._render import PAGE_SIZE, RESULTS, search_embed
from bot.exts.search._views import PageButton, Pages, search_buttons
from bot.options import Outlet, Query, Since, Until, make_filters, outlet_autocomplete

if TYPE_CHECKING:
    from bot.app import NewsBot


class Search(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageButton)  # page buttons sent before a restart still turn

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageButton)

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
        query: Query,
        outlet: Outlet | None = None,
        since: Since | None = None,
        until: Until | None = None,
    ) -> None:
        filters = await make_filters(interaction, outlet, since, until)
        await interaction.response.defer(thinking=True)
        hits = await self.bot.metrics.question(
            "search", self.bot.run_question(self.bot.questions.search, query, RESULTS, filters)
        )
        view = None
        if len(hits) > PAGE_SIZE:
            view = await search_buttons(self.bot, filters, interaction.user.id, Pages(query, hits))
        await interaction.edit_original_response(embed=search_embed(query, hits, 0), view=view)
