"""Who may do what, and how often: the per-user question budget and the Manage Server rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError

if TYPE_CHECKING:
    from bot.app import NewsBot

T = TypeVar("T")


class UserCooldown:
    """One budget per user shared by /ask, /search, /coverage and @mentions: the engine's CPU is the
    scarce thing."""

    def __init__(self, rate: int, seconds: float) -> None:
        self._buckets: commands.CooldownMapping[int] = commands.CooldownMapping.from_cooldown(
            rate, seconds, lambda user_id: user_id
        )

    def spend(self, user_id: int) -> None:
        """Take one question from the user's budget; `CommandOnCooldown` when it is used up."""
        bucket = self._buckets.get_bucket(user_id)
        assert bucket is not None
        if retry_after := bucket.update_rate_limit():
            raise app_commands.CommandOnCooldown(bucket, retry_after)


def rate_limited() -> Callable[[T], T]:
    """App command check spending one question from the user's budget."""

    def predicate(interaction: discord.Interaction) -> bool:
        cast("NewsBot", interaction.client).cooldown.spend(interaction.user.id)
        return True

    return app_commands.check(predicate)


def scope_of(guild_id: int | None) -> str | None:
    """The engine scope of a Discord server (its id): shared news plus its own. Direct messages have
    none, and see shared news only."""
    return None if guild_id is None else str(guild_id)


def require_guild_ingest(interaction: discord.Interaction) -> None:
    """A `UserError` when this bot takes news only from its operator (NEWSBOT_GUILD_INGEST=off)."""
    if cast("NewsBot", interaction.client).settings.guild_ingest == "off":
        raise UserError(
            "On this bot only its operator adds news (NEWSBOT_GUILD_INGEST=off): ask them to add the "
            "articles or feed you want from the command line."
        )


def require_manage_guild(interaction: discord.Interaction) -> bool:
    """Checked at run time too: ``default_permissions`` only hides a command, and server admins can
    change who sees it."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True
