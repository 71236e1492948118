"""The Discord bot: one engine, the threads to run it on, the extensions, and explicit command sync.

The engine is synchronous and CPU-bound (the model and FAISS), so no call to it runs on the event loop,
which must stay free for Discord's heartbeats and to acknowledge each interaction within 3 seconds.
Its calls go to one of three thread pools, by kind, so that admin work never takes a question's thread:

- `run_question` and `run_engine`: the question threads (NEWSBOT_WORKERS): /ask, /search, /trend's
  count, mentions, and the small reads commands make (outlets, saved questions, /coverage).
  `run_question` bounds how many questions may wait for a thread (NEWSBOT_QUEUE_LIMIT); they are
  answered by `NewsBot.questions`: the engine itself, or NEWSBOT_ANSWER_PROCESSES worker processes
  (`index.processes`) that the threads wait on.
- `run_admin`: the admin threads (NEWSBOT_ADMIN_WORKERS): /feeds and /watch, the watch loop's checks,
  /trend's charts, reading an uploaded file.
- `run_write`: one writer thread, for what adds or removes articles (/ingest's batches, /forget). The
  engine writes one at a time (`Engine`'s ingest lock, and between processes the store's writer
  lock, `index.storage.locks`): a write waiting for its turn on another pool would hold a thread for nothing.
  Writes queue here instead, first come first served, so concurrent jobs take turns batch by batch.
  Questions wait for a write only while it stores a chunk, never while it embeds.

Feed polls run on the event loop and on asyncio's default threads (`index.reading.feeds.poll_feeds`); their
ingests take the same engine lock, and no thread of these pools. Every write stays on this process's
engine. In front of the pools stand the limits of `bot.checks` (questions per user, per server and
waiting; /ingest jobs per server) and the per-server counts of feeds and watches.

An `EngineError` from any pool reaches the user as a `UserError` with its message; an `OperatorError`
(another process holding the writer lock) names paths and processes, so it is logged and the user
gets `bot.errors.UNAVAILABLE`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.checks import QuestionLimits
from bot.discord_urls import point_discord_at
from bot.errors import UNAVAILABLE, UserError, answer_error
from bot.exts import EXTENSIONS
from bot.metrics import BotMetrics
from bot.outlets import OutletList
from bot.settings import BotSettings
from bot.watchdog import LoopWatchdog
from index import Answerer, Engine, EngineError, OperatorError, QuestionProcesses

log = logging.getLogger(__name__)

T = TypeVar("T")

COMMANDS_HASH_KEY = "discord_commands_hash"


class StartupError(EngineError):
    """The bot cannot start for a reason the operator can fix; the message says how (the CLI shows it)."""


class NewsTree(app_commands.CommandTree):
    """The command tree whose one error handler answers every failed command."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await answer_error(interaction, error)


class NewsBot(commands.Bot):
    """newsbot on Discord. ``commands_only`` builds the command tree without the model (`newsbot sync`)."""

    def __init__(
        self,
        settings: BotSettings,
        engine: Engine | None = None,
        *,
        commands_only: bool = False,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True  # replies to the bot's answers need not mention it
        # newsbot never joins voice: the missing voice libraries are not worth a warning at every start.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; there are no text commands
            help_command=None,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=NewsTree,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids,  # this process's range; other processes run the rest
            **options,
        )
        self.settings = settings
        self._owns_engine = engine is None
        self.engine = engine if engine is not None else Engine(settings)
        self.commands_only = commands_only
        self.executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="engine")
        self.admin_executor = ThreadPoolExecutor(settings.admin_workers, thread_name_prefix="admin")
        self.write_executor = ThreadPoolExecutor(1, thread_name_prefix="writer")
        self.processes = (
            QuestionProcesses(settings, settings.answer_processes)
            if settings.answer_processes and not commands_only
            else None
        )
        self.limits = QuestionLimits(settings)
        self._outlets: dict[str | None, OutletList] = {}  # by scope: see `outlets_in`
        self._feed_poller: tasks.Loop[Any] | None = None
        self.watchdog = LoopWatchdog(settings.loop_block_ms / 1000)
        self.metrics = BotMetrics(self)

    # -- the engine ----------------------------------------------------------------------------

    @property
    def questions(self) -> Answerer:
        """Who answers /ask, /search and mentions: the answering processes, or the engine itself."""
        return self.processes or self.engine

    async def _run(self, executor: Executor, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on ``executor``'s threads; an `EngineError` becomes a `UserError`."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, functools.partial(fn, *args, **kwargs))
        except OperatorError as exc:
            log.warning("refused with a generic message: %s", exc)
            raise UserError(UNAVAILABLE) from exc
        except EngineError as exc:
            raise UserError(str(exc)) from exc

    async def run_engine(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the question threads: for questions and the reads commands make."""
        return await self._run(self.executor, fn, *args, **kwargs)

    async def run_admin(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the admin threads: feeds, watches, charts, reading uploads."""
        return await self._run(self.admin_executor, fn, *args, **kwargs)

    async def run_write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the writer thread, after the writes before it: ingests, forgets."""
        return await self._run(self.write_executor, fn, *args, **kwargs)

    async def run_question(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`run_engine` for a question (/ask, /search, @mention): `Busy` at once, without waiting, when
        ``queue_limit`` questions already wait for a thread. A question waits until a thread takes it."""
        leave = self.limits.queue.join()

        def taken() -> T:
            leave()
            return fn(*args, **kwargs)

        try:
            return await self.run_engine(taken)
        finally:
            leave()  # also when it never reached a thread (cancelled, or the pool shut down)

    def _load_engine(self) -> None:
        """Load the model and the FAISS index now, so that the first question does not wait for them."""
        engine = self.engine
        log.info(
            "engine ready: %s (dim %d), %d passages",
            engine.model_name,
            engine.embedder.dim,
            engine.index.count,
        )
        if self.processes is not None:
            self.processes.warm()
            log.info("%d answering processes ready", self.processes.workers)

    async def outlets_in(self, scope: str | None) -> OutletList:
        """The outlets a scope sees (shared + its own), for autocomplete and for checking a typed outlet.

        Kept in memory, as autocomplete must answer within Discord's 3 seconds even while every engine
        thread is busy; a server's list is read the first time it is needed."""
        if scope not in self._outlets:
            self._outlets[scope] = OutletList(await self.run_engine(self.engine.outlets, scope))
        return self._outlets[scope]

    async def refresh_outlets(self, scope: str | None = None) -> None:
        """After news came into ``scope``: shared news is in every server's list, so all are stale."""
        if scope is None:
            self._outlets.clear()
        else:
            self._outlets.pop(scope, None)
        await self.outlets_in(scope)

    # -- start-up and shut-down ----------------------------------------------------------------

    async def setup_hook(self) -> None:
        if not self.commands_only:
            await self.metrics.serve()
            await asyncio.get_running_loop().run_in_executor(self.executor, self._load_engine)
            await self.refresh_outlets()
        for name in EXTENSIONS:
            try:
                await self.load_extension(name)
            except Exception:
                log.exception("could not load extension %s; going on without it", name)
        if self.commands_only:
            return
        # Watched from here on, as the gateway connects: loading the extensions imports big modules on
        # the loop (matplotlib for /trend), which holds up nothing before there is a connection.
        self.watchdog.start(asyncio.get_running_loop())
        if self.settings.sync_on_start:
            await self.sync_commands()
        if self.settings.feed_poll_minutes:
            self._feed_poller = tasks.loop(minutes=self.settings.feed_poll_minutes)(self.poll_feeds)
            self._feed_poller.start()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions by @mention are answered by the mention extension."""

    async def on_ready(self) -> None:
        for guild in self.guilds:
            await self._leave_unless_allowed(guild)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._leave_unless_allowed(guild)

    async def _leave_unless_allowed(self, guild: discord.Guild) -> None:
        allowed = self.settings.allowed_guilds
        if allowed is not None and guild.id not in allowed:
            log.warning("leaving server %s (%s): it is not in NEWSBOT_ALLOWED_GUILDS", guild.id, guild.name)
            await guild.leave()

    async def close(self) -> None:
        self.watchdog.stop()
        await self.metrics.close()
        if self._feed_poller is not None:
            self._feed_poller.cancel()
        await super().close()
        # Let the calls already running finish, off the event loop, before closing the store; closing
        # it waits in turn for a feed ingest still running on its own thread.
        for executor in (self.executor, self.admin_executor, self.write_executor):
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        if self.processes is not None:
            await asyncio.to_thread(self.processes.close)
        if self._owns_engine:
            await asyncio.to_thread(self.engine.close)

    # -- feeds ---------------------------------------------------------------------------------

    async def poll_feeds(self) -> None:
        """One pass over the followed feeds (the engine logs what it found); never stops the loop."""
        try:
            # each feed once per interval across the processes sharing the store (`poll_feeds`)
            report = await self.engine.poll_feeds(every=timedelta(minutes=self.settings.feed_poll_minutes))
        except Exception:
            log.exception("feed poll failed")
            self.metrics.feed_poll(None)
            return
        self.metrics.feed_poll(report)
        if report.new_items:
            await self.refresh_outlets()

    # -- slash command registration ------------------------------------------------------------

    def _sync_scope(self) -> discord.Object | None:
        if self.settings.guild_id is None:
            return None
        guild = discord.Object(self.settings.guild_id)
        self.tree.copy_global_to(guild=guild)
        return guild

    def commands_hash(self, guild: discord.abc.Snowflake | None) -> str:
        """A digest of exactly what a sync would send, and where to."""
        payload = sorted(
            (command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)),
            key=lambda c: (c.get("type", 1), c["name"]),
        )
        scope = {"application": self.application_id, "guild": guild.id if guild else None}
        blob = json.dumps({**scope, "commands": payload}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    async def sync_commands(self, *, force: bool = False) -> list[app_commands.AppCommand] | None:
        """Register the slash commands with Discord unless the same set already was (None then).

        Syncing on every start would hit Discord's daily command-update limit for nothing.
        """
        guild = self._sync_scope()
        digest = self.commands_hash(guild)
        where = f"in guild {guild.id}" if guild else "globally"
        if not force and await self.run_engine(self.engine.store.get_setting, COMMANDS_HASH_KEY) == digest:
            log.info("slash commands unchanged; not syncing them %s", where)
            return None
        synced = await self.tree.sync(guild=guild)
        await self.run_engine(self.engine.store.set_setting, COMMANDS_HASH_KEY, digest)
        log.info("synced %d slash commands %s", len(synced), where)
        return synced


class ShardedNewsBot(NewsBot, commands.AutoShardedBot):
    """newsbot over several gateway connections (shards), for a bot in very many servers."""


def create_bot(settings: BotSettings, engine: Engine | None = None, **options: Any) -> NewsBot:
    cls = ShardedNewsBot if settings.sharded else NewsBot
    return cls(settings, engine, **options)


def _token(settings: BotSettings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise StartupError(
            "no Discord bot token: set DISCORD_TOKEN in the environment or in .env "
            "(Developer Portal > your application > Bot > Reset Token; see docs/discord.md)"
        )
    return token


def _explain(exc: discord.ClientException) -> StartupError:
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return StartupError(
            "Discord refused the Message Content intent: enable it in the Developer Portal "
            "(your application > Bot > Privileged Gateway Intents)"
        )
    return StartupError("Discord refused the token: check DISCORD_TOKEN (reset it in the Developer Portal)")


def run(settings: BotSettings) -> None:
    """Run the bot until it is stopped (`newsbot serve`)."""
    token = _token(settings)
    try:
        settings.check_shards()
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    log.info("this process runs %s", settings.shards_run)
    point_discord_at(settings.discord_api_url, settings.discord_gateway_url)
    try:
        bot = create_bot(settings)
        with bot.engine.serving():  # `newsbot reindex` refuses while this runs, on any machine
            bot.run(token, log_handler=None)
    except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as exc:
        raise _explain(exc) from exc


async def sync(settings: BotSettings) -> list[app_commands.AppCommand]:
    """Register the slash commands now (`newsbot sync`): a REST login, no gateway connection."""
    token = _token(settings)
    restore = point_discord_at(settings.discord_api_url, settings.discord_gateway_url)
    try:
        async with create_bot(settings, commands_only=True) as bot:
            await bot.login(token)
            synced = await bot.sync_commands(force=True)
            assert synced is not None
            return synced
    except discord.LoginFailure as exc:
        raise _explain(exc) from exc
    finally:
        restore()
