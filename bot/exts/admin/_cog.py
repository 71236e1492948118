"""/ingest, /feeds and /forget: a server's own news, for members with the Manage Server permission.

Everything here acts in the server's own scope: what it adds only it sees, and it can list, remove and
forget only what it added."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import JobSlots, require_guild_ingest, require_manage_guild, scope_of
from bot.errors import UserError
from bot.exts.admin._batches import add_report, batches
from bot.exts.admin._job import IngestJob
from bot.exts.admin._render import feeds_message, polling_note
from bot.exts.admin._sources import describe_sources, parse_urls
from bot.exts.admin._uploads import ACCEPTED, as_uploaded, check_upload, read_upload, saved_name
from bot.options import NAME_CHARS, URL_CHARS, Text
from bot.reports import plural
from bot.text import escape, one_line, trim
from index import (
    ArticleIn,
    Feed,
    FeedLimitError,
    IngestReport,
    InputProblem,
    NotFoundError,
)

if TYPE_CHECKING:
    from bot.app import NewsBot

MANAGE_GUILD = discord.Permissions(manage_guild=True)

Addresses = app_commands.Transform[str, Text("url", 6000)]  # Discord's most: up to `MAX_URLS` of them
ArticleRef = app_commands.Transform[str, Text("article", URL_CHARS)]
FeedUrl = app_commands.Transform[str, Text("url", URL_CHARS)]
FeedName = app_commands.Transform[str, Text("name", NAME_CHARS)]


class Admin(commands.Cog):
    feeds = app_commands.Group(
        name="feeds",
        description="The RSS/Atom feeds I follow for new articles",
        guild_only=True,
        default_permissions=MANAGE_GUILD,
    )

    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.jobs = JobSlots(bot.settings.ingest_jobs_per_server, "/ingest job")
        self._running: set[asyncio.Task[object]] = set()

    async def cog_unload(self) -> None:
        """Stop the running /ingest jobs while Discord can still be told: each says it was stopped
        (what it stored stays), instead of failing later against a closed connection."""
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # every command here
        return require_manage_guild(interaction)

    @app_commands.command(description="Add articles from web pages or an attached file")
    @app_commands.describe(
        url="An article's web address (http or https); several, separated by spaces, for several articles",
        file=f"A file of articles: {ACCEPTED}",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def ingest(
        self,
        interaction: discord.Interaction,
        url: Addresses | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        """A job: a long one moves to a channel message of its own (see `IngestJob`); a server runs at
        most NEWSBOT_INGEST_JOBS_PER_SERVER at once."""
        require_guild_ingest(interaction)
        scope = scope_of(interaction.guild_id)
        assert scope is not None and interaction.guild_id is not None  # guild_only
        urls = parse_urls(url)
        if not urls and file is None:
            raise UserError("Give me an article's `url`, attach a `file` of articles, or both.")
        if file is not None:
            check_upload(file.filename, file.size, self.bot.settings.fetch_max_bytes)
        task = asyncio.current_task()
        assert task is not None
        with self.jobs.take(interaction.guild_id):
            self._running.add(task)
            try:
                await interaction.response.defer(thinking=True, ephemeral=True)
                job = IngestJob(interaction, describe_sources(urls, file.filename if file else None))
                report = await job.run(self._ingest(job, scope, urls, file))
            finally:
                self._running.discard(task)
        if report is not None and report.stored:
            await self.bot.refresh_outlets(scope)

    async def _ingest(
        self, job: IngestJob, scope: str, urls: list[str], file: discord.Attachment | None
    ) -> IngestReport:
        """Fetches the pages and reads the upload, then ingests it all into the server's own news."""
        items: list[ArticleIn | InputProblem] = []
        if urls:
            await job.progress(f"fetching {plural(len(urls), 'web page')}…")
            items = await self.bot.engine.fetch_articles(urls)
        if file is None:
            return await self._add(job, scope, items)
        await job.progress("reading the file…")
        uploaded, saved = await self._read(file)
        report = await self._add(job, scope, [*items, *uploaded])
        report.problems = as_uploaded(report.problems, saved, file.filename)
        return report

    async def _read(self, file: discord.Attachment) -> tuple[list[ArticleIn | InputProblem], Path]:
        """The upload's articles, and where they were read from (gone by now; what problems name)."""
        with tempfile.TemporaryDirectory(prefix="newsbot-upload-") as folder:
            saved = Path(folder, saved_name(file.filename))
            try:
                await file.save(saved)
            except discord.HTTPException as exc:
                raise UserError(
                    f"I could not download {escape(file.filename)} from Discord; try again."
                ) from exc
            return await self.bot.run_admin(lambda: list(read_upload(saved))), saved

    async def _add(self, job: IngestJob, scope: str, items: list[ArticleIn | InputProblem]) -> IngestReport:
        """Ingests a batch at a time, telling the job how far it got."""
        report = IngestReport()
        for done, batch in batches(items):
            await job.progress(f"adding articles: {done:,} of {len(items):,} done…")
            add_report(report, await self.bot.run_write(self.bot.engine.ingest, batch, scope=scope))
        return report

    @app_commands.command(description="Delete an article this server added, by its id or web address")
    @app_commands.describe(article="The article's id (as /ingest showed it) or its web address")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def forget(self, interaction: discord.Interaction, article: ArticleRef) -> None:
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        title = await self.bot.run_write(self._forget, article, scope)
        await interaction.edit_original_response(content=f"Forgot “{trim(escape(one_line(title)), 150)}”.")
        await self.bot.refresh_outlets(scope)

    def _forget(self, article: str, scope: str | None) -> str:
        """The engine's forget; an unknown article is refused saying where this server's ids are shown."""
        try:
            return self.bot.engine.forget(article, scope)
        except NotFoundError as exc:
            raise NotFoundError(f"{exc}: check it (/ingest shows the ids of the articles it adds)") from None

    @feeds.command(name="add", description="Follow an RSS or Atom feed")
    @app_commands.describe(url="The feed's address", name="A name to show for it")
    async def feeds_add(
        self, interaction: discord.Interaction, url: FeedUrl, name: FeedName | None = None
    ) -> None:
        require_guild_ingest(interaction)
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            feed = await self.bot.run_admin(self._follow, url, name, scope)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        shown = f" ({escape(feed.name)})" if feed.name else ""
        note = polling_note(self.bot.settings.feed_poll_minutes)
        await interaction.edit_original_response(content=f"Following <{feed.url}>{shown}. {note}")

    def _follow(self, url: str, name: str | None, scope: str | None) -> Feed:
        """Follow the feed in ``scope``, within NEWSBOT_FEEDS_PER_SERVER; following one again only
        renames it, so it is never refused."""
        try:
            return self.bot.engine.feeds.add(url, name, scope=scope, most=self.bot.settings.feeds_per_server)
        except FeedLimitError as exc:
            raise UserError(
                f"This server follows {exc.count} feeds, the most it may: "
                "stop following one with /feeds remove first."
            ) from exc

    @feeds.command(name="list", description="The feeds I follow and their health")
    async def feeds_list(self, interaction: discord.Interaction) -> None:
        require_guild_ingest(interaction)
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        feeds = await self.bot.run_admin(lambda: self.bot.engine.feeds.list(scope))
        await interaction.edit_original_response(content=feeds_message(feeds))

    @feeds.command(name="remove", description="Stop following a feed")
    @app_commands.describe(url="The feed's address, as /feeds list shows it")
    async def feeds_remove(self, interaction: discord.Interaction, url: FeedUrl) -> None:
        require_guild_ingest(interaction)
        scope = scope_of(interaction.guild_id)
        await interaction.response.defer(thinking=True, ephemeral=True)
        if not await self.bot.run_admin(lambda: self.bot.engine.feeds.remove(url, scope=scope)):
            raise UserError("I do not follow that feed; /feeds list shows the ones I do.")
        await interaction.edit_original_response(content=f"Stopped following <{url.strip()}>.")
