"""Questions asked by @mentioning the bot, or by replying to one of its answers."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import Budgets, ServerCooldown, scope_of
from bot.errors import UserError, describe
from bot.exts.ask._views import answer_reply
from bot.exts.mention._question import HOW_TO_ASK, mentions, question_in
from index import Filters

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger(__name__)


class Mention(commands.Cog):
    """A cooldown (the user's or the server's) is told once per user per cooldown window, as a message
    rather than a reaction: the message says when to ask again, which a ⏳ cannot, and the questions
    asked meanwhile are ignored quietly, so a user hammering the bot does not fill the channel."""

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self._cooldown_notices = Budgets(1, bot.settings.cooldown_seconds)

    def _addressed(self, message: discord.Message) -> set[int] | None:
        """The ids by which the message addresses the bot, or None when it does not: it mentions the
        bot (or its role) in its text, or it replies to one of the bot's answers."""
        me = self.bot.user
        assert me is not None and message.guild is not None
        ids = {me.id}
        role = message.guild.self_role
        if role is not None:
            ids.add(role.id)
        replied = message.reference.resolved if message.reference else None
        return ids if mentions(message.content, ids) or self._is_answer(replied) else None

    def _is_answer(self, message: discord.Message | discord.DeletedReferencedMessage | None) -> bool:
        """The bot's answers (/ask, @mentions, /search, /coverage) are embeds; its notices (hints,
        cooldowns, "busy", errors, ingest reports) are plain text, and a reply to one is no question."""
        assert self.bot.user is not None
        return (
            isinstance(message, discord.Message)
            and message.author.id == self.bot.user.id
            and bool(message.embeds)
        )

    def _told_already(self, error: Exception, user_id: int) -> bool:
        """Whether ``error`` is a cooldown the user was already told of in this cooldown window."""
        if not isinstance(error, app_commands.CommandOnCooldown | ServerCooldown):
            return False
        return self._cooldown_notices[user_id].update_rate_limit() is not None

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
            self.bot.limits.admit(message.author.id, message.guild.id)
            async with message.channel.typing():
                filters = Filters(scope=scope_of(message.guild.id))
                result = await self.bot.metrics.question(
                    "mention", self.bot.run_question(self.bot.questions.ask, question, None, filters)
                )
            embed, view = await answer_reply(self.bot, result, filters, message.author.id)
            await message.reply(embed=embed, view=view, mention_author=False)
        except Exception as exc:
            if self._told_already(exc, message.author.id):
                log.debug("user %s is still on cooldown; not telling them again", message.author.id)
                return
            text = describe(exc, "an @mention", message.author.id)
            with contextlib.suppress(discord.HTTPException):
                await message.reply(text, mention_author=False)
