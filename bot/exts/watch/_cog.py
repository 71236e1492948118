"""/watch add, list and remove, and the loop that posts what new articles match.

Watches are for members with the Manage Server permission, as /feeds is: a watch posts in a channel
for everyone in it, unasked, for as long as it stands, and each check is a question for the engine.
Members ask with /ask; what a server watches is its moderators' call.

The loop runs every minute, apart from the feed poller, so that news from /ingest and from
`newsbot ingest` is checked too. Each watch checks its new articles once (`index.features.watch`), within the
limits NEWSBOT_WATCH_POST_MINUTES and NEWSBOT_WATCH_CHANNEL_HOURLY, by the one process serving its server
when several share the database (each claims the watches it checks).
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.checks import require_manage_guild, scope_of
from bot.errors import UserError
from bot.exts.watch._render import added_message, match_embed, quoted_query, watches_message
from bot.options import Query
from index import Match, Watches

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger(__name__)

MANAGE_GUILD = discord.Permissions(manage_guild=True)
CHECK_MINUTES = 1.0


class Watching(commands.Cog):
    watch = app_commands.Group(
        name="watch",
        description="Standing alerts: I post here when new articles match a query",
        guild_only=True,
        default_permissions=MANAGE_GUILD,
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @cached_property
    def watches(self) -> Watches:
        """Made on an admin thread (it creates its tables where missing)."""
        return Watches(self.bot.engine)

    async def cog_load(self) -> None:
        if not self.bot.commands_only:
            self.check_watches.start()

    async def cog_unload(self) -> None:
        self.check_watches.cancel()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # every command here
        return require_manage_guild(interaction)

    @watch.command(name="add", description="Post the best quote here when new articles match a query")
    @app_commands.describe(query="What to watch for, e.g. ferry strike")
    async def watch_add(self, interaction: discord.Interaction, query: Query) -> None:
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        limit = self.bot.settings.watch_limit
        watch = await self.bot.run_admin(
            lambda: self.watches.add(query, scope=scope, channel=interaction.channel_id, limit=limit)
        )
        content = added_message(watch, self.bot.settings.watch_post_minutes)
        await interaction.edit_original_response(content=content)

    @watch.command(name="list", description="This server's watches")
    async def watch_list(self, interaction: discord.Interaction) -> None:
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        watches = await self.bot.run_admin(lambda: self.watches.list(scope))
        await interaction.edit_original_response(content=watches_message(watches))

    @watch.command(name="remove", description="Stop a watch")
    @app_commands.rename(watch_id="id")
    @app_commands.describe(watch_id="The watch's number, as /watch list shows it")
    async def watch_remove(
        self, interaction: discord.Interaction, watch_id: app_commands.Range[int, 1]
    ) -> None:
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        removed = await self.bot.run_admin(lambda: self.watches.remove(watch_id, scope))
        if removed is None:
            raise UserError(f"This server has no watch {watch_id}: /watch list shows its watches.")
        await interaction.edit_original_response(content=f"Stopped watching {quoted_query(removed)}.")

    # -- the loop ------------------------------------------------------------------------------

    @tasks.loop(minutes=CHECK_MINUTES)
    async def check_watches(self) -> None:
        """One check of every watch that is due; a failure is logged, and the loop goes on."""
        try:
            await self.check_once()
        except Exception:
            log.exception("watch check failed")

    @check_watches.before_loop
    async def _until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def check_once(self) -> int:
        """Check the due watches (`Watches.due`) of the servers this process serves (other shards'
        channels are another process's to post in) and post their matches; how many were posted."""
        settings = self.bot.settings
        due = await self.bot.run_admin(
            lambda: self.watches.due(
                settings.watch_post_minutes, settings.watch_channel_hourly, serves=self.serves
            )
        )
        posted = 0
        for watch in due:
            try:
                match = await self.bot.run_admin(self.watches.check, watch)
                if match is not None:
                    posted += await self.post(match)
            except Exception:
                log.exception("watch %s (%r) failed its check", watch.id, watch.query)
        return posted

    def serves(self, scope: str) -> bool:
        """Whether this process runs the shard Discord routes server ``scope`` to, ``(id >> 22) %
        count``: only that process sees the server's channels (every server, unless NEWSBOT_SHARD_IDS
        names a range)."""
        settings = self.bot.settings
        if settings.shard_ids is None:
            return True
        return (int(scope) >> 22) % (settings.shard_count or 1) in settings.shard_ids

    async def post(self, match: Match) -> bool:
        """Post ``match`` to its watch's channel; a watch whose channel is gone is removed."""
        watch = match.watch
        assert watch.channel is not None and watch.scope is not None  # a server's watch
        channel = self.bot.get_partial_messageable(watch.channel, guild_id=int(watch.scope))
        try:
            await channel.send(embed=match_embed(match), allowed_mentions=discord.AllowedMentions.none())
        except discord.NotFound:
            log.warning("watch %s: channel %s is gone; removing the watch", watch.id, watch.channel)
            await self.bot.run_admin(self.watches.remove, watch.id, watch.scope)
            return False
        except discord.HTTPException as exc:
            log.warning("watch %s: cannot post in channel %s: %s", watch.id, watch.channel, exc)
            return False
        await self.bot.run_admin(self.watches.posted, watch)
        return True
