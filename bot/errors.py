"""What the user is told when a command fails, and the one place that tells them.

Expected problems (a bad date, an empty question, a cooldown, a missing permission) are answered
with their own message (engine errors arrive as `UserError`, see `NewsBot.run_engine`); the operator's
problems (a held writer lock: `OperatorError`) are logged and answered with `UNAVAILABLE`; anything
else gets a generic apology and is logged with its traceback. Answers to slash commands and buttons
are ephemeral, so a mistake never clutters the channel.
"""

from __future__ import annotations

import contextlib
import logging

import discord
from discord import app_commands

log = logging.getLogger(__name__)

UNEXPECTED = "Something went wrong on my side; it has been logged. Please try again later."
UNAVAILABLE = (
    "I cannot do that right now; the reason is logged for the bot's operator. Try again in a few minutes."
)


class UserError(app_commands.AppCommandError):
    """A problem the user can fix; its message is shown to them as it is."""


def user_message(error: BaseException) -> str | None:
    """The message for an expected error, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, UserError | app_commands.TransformerError):
        return str(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Easy there: you can ask again in {max(error.retry_after, 1):.0f} s."
    if isinstance(error, app_commands.MissingPermissions):
        return "Only members with the Manage Server permission can do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That only works in a server."
    return None


def describe(error: BaseException, where: str, user_id: int) -> str:
    """What to tell the user; logs the error, a bug with its traceback."""
    message = user_message(error)
    if message is None:
        log.error("error in %s for user %s", where, user_id, exc_info=error)
        return UNEXPECTED
    log.info("refused %s for user %s: %s", where, user_id, message)
    return message


async def answer_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user privately what went wrong with a command or a button."""
    where = f"/{interaction.command.qualified_name}" if interaction.command else "a button"
    message = describe(error, where, interaction.user.id)
    if interaction.type is discord.InteractionType.autocomplete:
        return  # suggestions cannot carry a message; the user sees none
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # The public "thinking…" message would become the error; replace it with a private one.
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not tell user %s about the error in %s", interaction.user.id, where, exc_info=True)
