"""/ask: a question answered with quotes from the news."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import rate_limited
from bot.exts.ask._views import AnswerButton, VoteButton, answer_reply
from bot.options import Outlet, Question, Since, make_filters, outlet_autocomplete

if TYPE_CHECKING:
    from bot.app import NewsBot


class Ask(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Buttons under answers sent before a restart still answer, and their votes count.
        self.bot.add_dynamic_items(AnswerButton, VoteButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AnswerButton, VoteButton)

    @app_commands.command(description="Answer a question by quoting the news")
    @app_commands.describe(
        question="What you want to know, e.g. who warned ships?",
        outlet="Only articles from this outlet",
        since="Only articles published on or after this day (YYYY-MM-DD)",
    )
    @app_commands.autocomplete(outlet=outlet_autocomplete)
    @rate_limited()
    async def ask(
        self,
        interaction: discord.Interaction,
        question: Question,
        outlet: Outlet | None = None,
        since: Since | None = None,
    ) -> None:
        filters = await make_filters(interaction, outlet, since)
        await interaction.response.defer(thinking=True)
        result = await self.bot.metrics.question(
            "ask", self.bot.run_question(self.bot.questions.ask, question, None, filters)
        )
        embed, view = await answer_reply(self.bot, result, filters, interaction.user.id)
        await interaction.edit_original_response(embed=embed, view=view)
