"""Options shared by several commands: free text with a length cap, dates, the outlet (with its
autocomplete), and their filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.checks import scope_of
from bot.dates import check_range, parse_day
from bot.errors import UserError
from bot.text import CHOICE_TEXT_LIMIT
from index import Filters

if TYPE_CHECKING:
    from bot.app import NewsBot


QUESTION_CHARS = 2000  # past NEWSBOT_MAX_QUESTION_CHARS' default: the engine's own limit speaks first
URL_CHARS = 1000  # one web address
NAME_CHARS = CHOICE_TEXT_LIMIT  # a name to show (an outlet, a feed): as long as an autocomplete choice


class Text(app_commands.Transformer):
    """A free-text option of at most ``longest`` characters. Discord holds its users to the cap it is
    told of (max_length); this checks it again before the command acts, since a stale registration or
    a hand-made request can send up to 6,000, which no reply could then quote."""

    def __init__(self, option: str, longest: int) -> None:
        self.option = option
        self.longest = longest

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return self.longest

    async def transform(self, interaction: discord.Interaction, value: str) -> str:
        if len(value) > self.longest:
            raise UserError(
                f"`{self.option}` is {len(value):,} characters long: keep it to {self.longest:,}."
            )
        return value


class Day(Text):
    """A YYYY-MM-DD date option, checked before the command runs so a typo gets a private hint."""

    def __init__(self, option: str) -> None:
        super().__init__(option, 32)  # room for stray spaces around the date

    async def transform(self, interaction: discord.Interaction, value: str) -> str:
        return parse_day(await super().transform(interaction, value), self.option)


Since = app_commands.Transform[str, Day("since")]
Until = app_commands.Transform[str, Day("until")]
Question = app_commands.Transform[str, Text("question", QUESTION_CHARS)]
Query = app_commands.Transform[str, Text("query", QUESTION_CHARS)]
Outlet = app_commands.Transform[str, Text("outlet", NAME_CHARS)]


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
