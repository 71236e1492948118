"""The Discord front end's settings: the engine's (``NEWSBOT_*``) plus the bot's own.

The token is also read from plain ``DISCORD_TOKEN``, the name every Discord hosting guide uses. It is
a `SecretStr` so that printing or logging the settings never shows it. The bot's settings come in
sections, as the engine's do (see ``index/core/settings.py``): each keeps its flat ``NEWSBOT_*`` name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from index import SectionView, Settings

DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg"


class DiscordSettings(BaseModel):
    """Which Discord, which servers, and how the bot connects to it."""

    discord_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"),
        description="The bot token from the Developer Portal (Bot page).",
    )
    guild_id: int | None = Field(
        None, description="Register the commands in this server only: instant, for development."
    )
    discord_api_url: str = Field(DISCORD_API_URL, description="Discord's REST API; changed only for tests.")
    discord_gateway_url: str = Field(DISCORD_GATEWAY_URL, description="Discord's gateway; for tests.")
    shard_count: int | None = Field(None, ge=1, description="Run this many shards (AutoShardedBot).")
    autoshard: bool = Field(False, description="Shard as Discord recommends (AutoShardedBot).")
    sync_on_start: bool = Field(
        True, description="Register the slash commands at start-up when they changed."
    )
    allowed_guilds: list[int] | None = Field(
        None, description="The servers the bot may be in (JSON list of ids); it leaves any other."
    )

    @property
    def sharded(self) -> bool:
        return self.autoshard or self.shard_count is not None


class CapacitySettings(BaseModel):
    """The threads and processes that answer and do the admin work, and what may wait for them."""

    workers: int = Field(4, ge=1, description="Threads answering questions beside the event loop.")
    admin_workers: int = Field(
        2,
        ge=1,
        description="Threads for the admin work beside them (feeds, watches, charts, reading uploads); "
        "ingests and forgets take one more thread of their own, one at a time.",
    )
    answer_processes: int = Field(
        0,
        ge=0,
        description="Processes answering /ask, /search and mentions, each with its own engine (about "
        "850 MB each with the models): more questions a second on several cores; 0 = the threads "
        "answer in the bot's own process.",
    )
    queue_limit: int = Field(
        20, ge=1, description="Questions that may wait for an engine thread; one more is told 'busy' at once."
    )
    loop_block_ms: float = Field(
        250, gt=0, description="A callback holding the event loop longer is logged, with its stack."
    )


class QuotaSettings(BaseModel):
    """What one user or one server may ask for, and whether servers add their own news."""

    cooldown_rate: int = Field(5, ge=1, description="Questions one user may ask per cooldown window.")
    cooldown_seconds: float = Field(30.0, gt=0, description="Length of the per-user cooldown window.")
    guild_rate: int = Field(
        30, ge=1, description="Questions one server (all its members together) may ask per minute."
    )
    ingest_jobs_per_server: int = Field(
        2, ge=1, description="/ingest jobs one server may run at once; one more is refused until one ends."
    )
    feeds_per_server: int = Field(25, ge=1, description="Feeds one server may follow (/feeds add).")
    watch_limit: int = Field(20, ge=1, description="Watches one server may keep (/watch add).")
    guild_ingest: Literal["own", "off"] = Field(
        "own",
        description="own: a server's Manage Server members add its own news (/ingest, /feeds); "
        "off: only the operator adds news, from the command line.",
    )


class ScheduleSettings(BaseModel):
    """How often the bot polls feeds and posts watches' news."""

    feed_poll_minutes: float = Field(
        15, ge=0, description="Poll the RSS/Atom feeds this often (0.5 = every 30 s); 0 = never."
    )
    watch_post_minutes: int = Field(
        30, ge=1, description="One watch (/watch) posts at most once per this many minutes."
    )
    watch_channel_hourly: int = Field(
        6, ge=1, description="Watch posts one channel gets per hour at most, all its watches together."
    )


class MetricsSettings(BaseModel):
    """The Prometheus /metrics and /healthz endpoint."""

    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Serve /metrics (Prometheus) and /healthz on this port; unset = off, 0 = any free port.",
    )
    metrics_host: str = Field("127.0.0.1", description="The address /metrics and /healthz listen on.")


# Listed last to first, as `Settings` lists its sections: the engine's knobs come first, then these.
class BotSettings(
    MetricsSettings, ScheduleSettings, QuotaSettings, CapacitySettings, DiscordSettings, Settings
):
    model_config = SettingsConfigDict(populate_by_name=True)

    discord = SectionView(DiscordSettings)
    capacity = SectionView(CapacitySettings)
    quotas = SectionView(QuotaSettings)
    schedule = SectionView(ScheduleSettings)
    metrics = SectionView(MetricsSettings)
