"""Questions asked by @mentioning the bot, or by replying to one of its answers."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.checks import scope_of
from bot.errors import UserError, describe
from bot.exts.ask._views import answer_reply
from bot.exts.mention._question import HOW_TO_ASK, question_in
from index.store import Filters

if TYPE_CHECKING:
    from bot.app import NewsBot


class Mention(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    def _addressed(self, message: discord.Message) -> set[int] | None:
        """The ids by which the message addresses the bot, or None when it does not."""
        me = self.bot.user
        assert me is not None and message.guild is not None
        ids = {me.id}
        role = message.guild.self_role
        if role is not None:
            ids.add(role.id)
        replied = message.reference.resolved if message.reference else None
        to_bot = isinstance(replied, discord.Message) and replied.author.id == me.id
        if to_bot or me in message.mentions or (role is not None and role in message.role_mentions):
            return ids
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        ids = self._addressed(message)
        if ids is None:
            return
        try:
            question = question_in(message.content, ids)
            if not question:
                raise UserError(HOW_TO_ASK)
            self.bot.cooldown.spend(message.author.id)
            async with message.channel.typing():
                filters = Filters(scope=scope_of(message.guild.id))
                result = await self.bot.run_engine(self.bot.engine.ask, question, None, filters)
            embed, view = answer_reply(result, message.author.id, self.bot.engine.min_answer_score)
            reply = await message.reply(embed=embed, view=view, mention_author=False)
            if view is not None:
                view.message = reply
        except Exception as exc:
            text = describe(exc, "an @mention", message.author.id)
            with contextlib.suppress(discord.HTTPException):
                await message.reply(text, mention_author=False)
