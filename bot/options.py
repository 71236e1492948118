"""Options shared by several commands: dates, the outlet (with its autocomplete), and their filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.checks import scope_of
from bot.dates import check_range, parse_day
from index.store import Filters

if TYPE_CHECKING:
    from bot.app import NewsBot


class Day(app_commands.Transformer):
    """A YYYY-MM-DD date option, checked before the command runs so a typo gets a private hint."""

    def __init__(self, option: str) -> None:
        self.option = option

    async def transform(self, interaction: discord.Interaction, value: str) -> str:
        return parse_day(value, self.option)


Since = app_commands.Transform[str, Day("since")]
Until = app_commands.Transform[str, Day("until")]


async def outlet_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The outlets of the news this server sees (shared + its own) matching what was typed."""
    outlets = await cast("NewsBot", interaction.client).outlets_in(scope_of(interaction.guild_id))
    return [app_commands.Choice(name=name, value=name) for name in outlets.matching(current)]


async def make_filters(
    interaction: discord.Interaction, outlet: str | None, since: str | None = None, until: str | None = None
) -> Filters:
    """The engine's filters for a question asked here: in this server's scope (direct messages: shared
    news only); a `UserError` for an outlet it does not know or an empty date range."""
    check_range(since, until)
    scope = scope_of(interaction.guild_id)
    if outlet:
        outlet = (await cast("NewsBot", interaction.client).outlets_in(scope)).resolve(outlet)
    return Filters(outlet=outlet or None, since=since, until=until, scope=scope)
