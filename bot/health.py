"""Whether the bot is well: connected to Discord's gateway, hearing its heartbeat acks, engine open.

discord.py exposes no time of the last heartbeat ack, only the latency of the last one, which stays
the same when acks stop coming; so the age is read from its keep-alive handler (``_last_ack``). A
bot whose acks stopped is a zombie connection: Discord's docs say to reconnect when no ack came
between two heartbeats, and a process supervisor should restart a bot that stays so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from discord.ext import commands

from bot.checks import QuestionLimits
from bot.settings import BotSettings
from bot.watchdog import LoopWatchdog
from index import Engine

if TYPE_CHECKING:
    from discord.gateway import DiscordWebSocket

MIN_ACK_GRACE = 10.0  # seconds an ack may be late past the next heartbeat on a short interval


class Watched(Protocol):
    """What health and metrics read of the bot (`bot.app.NewsBot` is one), named here so that these
    modules do not import the bot that imports them."""

    engine: Engine
    settings: BotSettings
    limits: QuestionLimits
    watchdog: LoopWatchdog

    @property
    def ws(self) -> DiscordWebSocket | None: ...

    def is_ready(self) -> bool: ...

    def is_closed(self) -> bool: ...


@dataclass(frozen=True)
class Health:
    gateway_connected: bool
    engine_open: bool
    heartbeat_ack_age_s: float | None  # the oldest last ack over the gateway connections; None = none yet
    heartbeat_stale_after_s: float | None

    @property
    def healthy(self) -> bool:
        return (
            self.gateway_connected
            and self.engine_open
            and self.heartbeat_ack_age_s is not None
            and self.heartbeat_stale_after_s is not None
            and self.heartbeat_ack_age_s <= self.heartbeat_stale_after_s
        )

    def to_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, **asdict(self)}


def gateways(bot: Watched) -> list[DiscordWebSocket]:
    """The bot's gateway connections: one, or one per shard."""
    if isinstance(bot, commands.AutoShardedBot):
        return [shard._parent.ws for shard in bot.shards.values()]
    return [bot.ws] if bot.ws is not None else []


def check(bot: Watched) -> Health:
    sockets = gateways(bot)
    connected = bot.is_ready() and not bot.is_closed() and bool(sockets) and all(ws.open for ws in sockets)
    beats = [ws._keep_alive for ws in sockets if ws._keep_alive is not None and ws._keep_alive.interval]
    age = stale = None
    if beats and len(beats) == len(sockets):  # every connection has had its HELLO
        now = time.perf_counter()  # the keep-alive handler's clock
        age = max(now - beat._last_ack for beat in beats)
        stale = max(beat.interval + max(beat.interval, MIN_ACK_GRACE) for beat in beats)
    return Health(connected, not bot.engine.closed, age, stale)
