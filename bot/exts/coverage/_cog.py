"""/coverage: what the bot can answer about."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import rate_limited, scope_of
from bot.exts.coverage._render import coverage_embed

if TYPE_CHECKING:
    from bot.app import NewsBot


class Coverage(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(description="What news I have: articles, outlets, dates, last update")
    @rate_limited()  # it reads the whole store: as costly as a question
    async def coverage(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        stats = await self.bot.run_engine(self.bot.engine.stats, scope_of(interaction.guild_id))
        await interaction.edit_original_response(embed=coverage_embed(stats))
