"""The Discord front end's settings: the engine's (``NEWSBOT_*``) plus the bot's own.

The token is also read from plain ``DISCORD_TOKEN``, the name every Discord hosting guide uses. It is
a `SecretStr` so that printing or logging the settings never shows it. The bot's settings come in
sections, as the engine's do (see ``index/core/settings.py``): each keeps its flat ``NEWSBOT_*`` name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

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
    shard_ids: Annotated[list[int] | None, NoDecode] = Field(
        None,
        description="The shards this process runs, e.g. 0,1 of NEWSBOT_SHARD_COUNT (each range its own "
        "process, all on one NEWSBOT_DATABASE_URL); unset = all of them.",
    )
    autoshard: bool = Field(False, description="Shard as Discord recommends (AutoShardedBot).")
    sync_on_start: bool = Field(
        True, description="Register the slash commands at start-up when they changed."
    )
    allowed_guilds: list[int] | None = Field(
        None, description="The servers the bot may be in (JSON list of ids); it leaves any other."
    )

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """NEWSBOT_SHARD_IDS as the flag takes it: ``0,1``."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()] or None
        return value

    @property
    def sharded(self) -> bool:
        return self.autoshard or self.shard_count is not None or self.shard_ids is not None

    def check_shards(self) -> None:
        """`ValueError` saying what to change when the shard range cannot run. Checked when the bot
        starts, not as the settings load: the ids and the count may come from flags or settings apart."""
        ids, count = self.shard_ids, self.shard_count
        if ids is None:
            return
        if count is None:
            raise ValueError(
                f"shard ids {_listed(ids)} need the total number of shards, the same in every process: "
                "set NEWSBOT_SHARD_COUNT or pass --shard-count"
            )
        if wrong := sorted(i for i in ids if not 0 <= i < count):
            raise ValueError(
                f"shard ids {_listed(wrong)} are not among the {count} shards (ids run from 0 to "
                f"{count - 1}): fix NEWSBOT_SHARD_IDS / --shard-ids or raise the shard count"
            )
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"shard ids {_listed(twice)} are given twice: name each shard once")

    @property
    def shards_run(self) -> str:
        """Which shards this process runs, for the start-up log."""
        if self.shard_ids is not None:
            return f"shards {_listed(self.shard_ids)} of {self.shard_count}"
        if self.shard_count is not None:
            return f"all {self.shard_count} shards"
        return "as many shards as Discord recommends" if self.autoshard else "one unsharded connection"


def _listed(ids: list[int]) -> str:
    return ",".join(map(str, ids))


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
