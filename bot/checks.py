"""Who may do what, and how often: the question budgets, the engine's queue, the jobs a server runs at
once and the Manage Server rule."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError
from bot.settings import BotSettings

T = TypeVar("T")

BUSY = "I'm busy with other questions right now: try again in a minute."


class Busy(UserError):
    """A question refused because `EngineQueue.limit` questions already wait for the engine."""

    def __init__(self) -> None:
        super().__init__(BUSY)


class ServerCooldown(UserError):
    """A question refused because its server has asked all the questions it may this minute."""

    def __init__(self, rate: int, retry_after: float) -> None:
        super().__init__(
            f"This server has asked all the questions it may this minute ({rate}): "
            f"try again in {max(retry_after, 1):.0f} s."
        )


class Budgets:
    """``rate`` uses per ``seconds`` for each key (a user id, a server id); idle keys are forgotten."""

    def __init__(self, rate: int, seconds: float) -> None:
        self._buckets: commands.CooldownMapping[int] = commands.CooldownMapping.from_cooldown(
            rate, seconds, lambda key: key
        )

    def __getitem__(self, key: int) -> app_commands.Cooldown:
        bucket = self._buckets.get_bucket(key)
        assert bucket is not None
        return bucket


class EngineQueue:
    """Questions handed to the engine threads that no thread has taken yet, at most ``limit``: past
    that, a burst is told to come back at once instead of waiting minutes for an answer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0  # questions told "busy" (at admission or here), for the metrics
        self._waiting = 0
        self._lock = threading.Lock()  # a question leaves the queue on the engine thread that takes it

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def full(self) -> bool:
        return self._waiting >= self.limit

    def refuse(self) -> Busy:
        """The `Busy` to raise for a question that finds the queue full, counted."""
        with self._lock:
            self.busy += 1
        return Busy()

    def join(self) -> Callable[[], None]:
        """One more waiting question, or `Busy`. Call what it returns when a thread takes the question,
        and again when it is given up: only the first call counts."""
        with self._lock:
            if self.full:
                self.busy += 1
                raise Busy()
            self._waiting += 1
        left = False

        def leave() -> None:
            nonlocal left
            with self._lock:
                if not left:
                    left = True
                    self._waiting -= 1

        return leave


class QuestionLimits:
    """How many questions the bot takes (/ask, /search, /coverage, @mentions): per user, per server and
    waiting for the engine. The engine's CPU is the scarce thing; one busy server must not starve the
    others, and a burst must not queue for minutes."""

    def __init__(self, settings: BotSettings) -> None:
        self.users = Budgets(settings.cooldown_rate, settings.cooldown_seconds)
        self.servers = Budgets(settings.guild_rate, 60.0)
        self.queue = EngineQueue(settings.queue_limit)

    def admit(self, user_id: int, guild_id: int | None) -> None:
        """Take one question from the user's and the server's budgets, or refuse it at once: `Busy`,
        `CommandOnCooldown` (the user's) or `ServerCooldown`. A refused question spends nothing."""
        if self.queue.full:
            raise self.queue.refuse()
        user = self.users[user_id]
        if retry_after := user.get_retry_after():
            raise app_commands.CommandOnCooldown(user, retry_after)
        if guild_id is not None:
            server = self.servers[guild_id]
            if retry_after := server.get_retry_after():
                raise ServerCooldown(server.rate, retry_after)
            server.update_rate_limit()
        user.update_rate_limit()


class Limited(Protocol):
    """What the checks read of the bot (`bot.app.NewsBot` is one), named here so that this module does
    not import the bot that imports it."""

    limits: QuestionLimits
    settings: BotSettings


class JobSlots:
    """The jobs each server runs at once, at most ``limit``: the bot writes one batch at a time for
    every server, so a server's extra jobs would only make all the others wait longer."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what  # a job's name in the refusal, e.g. "/ingest job"
        self._running: Counter[int] = Counter()  # used on the event loop only

    @contextmanager
    def take(self, key: int) -> Iterator[None]:
        """One of ``key``'s slots while the job runs, or a `UserError` saying to wait for one."""
        if self._running[key] >= self.limit:
            jobs, which = (self.what, "it is") if self.limit == 1 else (f"{self.what}s", "one is")
            raise UserError(
                f"This server already has {self.limit} {jobs} running, the most it may: "
                f"wait until {which} done, then try again."
            )
        self._running[key] += 1
        try:
            yield
        finally:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]


def rate_limited() -> Callable[[T], T]:
    """App command check: the question is admitted (`QuestionLimits.admit`) or refused privately at once."""

    def predicate(interaction: discord.Interaction) -> bool:
        cast("Limited", interaction.client).limits.admit(interaction.user.id, interaction.guild_id)
        return True

    return app_commands.check(predicate)


def scope_of(guild_id: int | None) -> str | None:
    """The engine scope of a Discord server (its id): shared news plus its own. Direct messages have
    none, and see shared news only."""
    return None if guild_id is None else str(guild_id)


def require_guild_ingest(interaction: discord.Interaction) -> None:
    """A `UserError` when this bot takes news only from its operator (NEWSBOT_GUILD_INGEST=off)."""
    if cast("Limited", interaction.client).settings.guild_ingest == "off":
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
