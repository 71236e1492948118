"""The "Find sources" message menu (right-click a message > Apps).

The answer is the one /ask gives for the message's text, shown only to whoever asked: they chose to
check someone else's message, and a public reply would answer a question nobody asked in the channel
(and could read as the bot calling out the author). They can share what they found with /ask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import rate_limited, scope_of
from bot.exts.ask._views import answer_reply
from bot.exts.sources._question import question_of
from index import Filters

if TYPE_CHECKING:
    from bot.app import NewsBot

MENU = "Find sources"


class Sources(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        # Context menus cannot be declared in a cog like slash commands: the cog adds its own.
        self.menu = app_commands.ContextMenu(name=MENU, callback=self.find_sources)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @rate_limited()
    async def find_sources(self, interaction: discord.Interaction, message: discord.Message) -> None:
        question = question_of(message.clean_content, self.bot.engine.settings.max_question_chars)
        await interaction.response.defer(thinking=True, ephemeral=True)
        filters = Filters(scope=scope_of(interaction.guild_id))
        result = await self.bot.run_question(self.bot.questions.ask, question, None, filters)
        embed, view = await answer_reply(self.bot, result, filters, interaction.user.id)
        await interaction.edit_original_response(embed=embed, view=view)
