"""The bot's settings from the environment, and pointing discord.py at another Discord."""

from __future__ import annotations

import re

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord_urls import point_discord_at
from bot.exts.admin._render import polling_note
from bot.settings import DISCORD_API_URL, BotSettings
from index import SectionView, Settings


@pytest.mark.parametrize("variable", ["DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"])
def test_settings_come_from_the_environment_and_hide_the_token(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv(variable, "secret-token")
    monkeypatch.setenv("NEWSBOT_GUILD_ID", "123456789012345678")
    monkeypatch.setenv("NEWSBOT_FEED_POLL_MINUTES", "15")
    monkeypatch.setenv("NEWSBOT_TOP_K", "7")  # the engine's settings come along
    settings = BotSettings(_env_file=None)
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "secret-token"
    assert (
        settings.guild_id == 123456789012345678 and settings.feed_poll_minutes == 15 and settings.top_k == 7
    )
    assert "secret-token" not in repr(settings) and "secret-token" not in str(settings.model_dump())
    assert not settings.sharded and settings.sync_on_start and settings.discord_api_url == DISCORD_API_URL


def test_sharding_is_on_when_asked_for_or_counted() -> None:
    assert BotSettings(_env_file=None, autoshard=True).sharded
    assert BotSettings(_env_file=None, shard_count=2).sharded


def test_a_shard_range_comes_from_the_environment_as_the_flag_writes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", "2, 3")
    monkeypatch.setenv("NEWSBOT_SHARD_COUNT", "4")
    settings = BotSettings(_env_file=None)
    assert settings.shard_ids == [2, 3] and settings.sharded and settings.shards_run == "shards 2,3 of 4"
    settings.check_shards()  # a range that runs
    monkeypatch.setenv("NEWSBOT_SHARD_IDS", "")
    assert BotSettings(_env_file=None).shard_ids is None


@pytest.mark.parametrize(
    ("ids", "count", "problem"),
    [
        ([0], None, "shard ids 0 need the total number of shards, the same in every process: set "
         "NEWSBOT_SHARD_COUNT or pass --shard-count"),
        ([3, 0, -1], 3, "shard ids -1,3 are not among the 3 shards (ids run from 0 to 2)"),
        ([2, 1, 2, 1], 4, "shard ids 1,2 are given twice: name each shard once"),
    ],
)  # fmt: skip
def test_a_shard_range_that_cannot_run_says_what_to_change(
    ids: list[int], count: int | None, problem: str
) -> None:
    settings = BotSettings(_env_file=None, shard_ids=ids, shard_count=count)
    with pytest.raises(ValueError, match="^" + re.escape(problem)):
        settings.check_shards()


def test_the_start_up_log_names_the_shards_run() -> None:
    assert BotSettings(_env_file=None).shards_run == "one unsharded connection"
    assert BotSettings(_env_file=None, autoshard=True).shards_run == "as many shards as Discord recommends"
    assert BotSettings(_env_file=None, shard_count=4).shards_run == "all 4 shards"
    BotSettings(_env_file=None, shard_count=4).check_shards()


def test_point_discord_at_redirects_and_restores() -> None:
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    restore = point_discord_at("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway")
    try:
        assert Route.BASE == "http://127.0.0.1:9/api/v10"
        assert yarl.URL("ws://127.0.0.1:9/gateway") == DiscordWebSocket.DEFAULT_GATEWAY
        assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    finally:
        restore()
    assert (base, gateway) == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


def test_discords_own_urls_change_nothing() -> None:
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_at("https://discord.com/api/v10", "wss://gateway.discord.gg/")()
    assert (base, gateway) == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


def test_admin_threads_and_per_server_limits_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = BotSettings(_env_file=None)
    assert (defaults.admin_workers, defaults.ingest_jobs_per_server, defaults.feeds_per_server) == (2, 2, 25)
    monkeypatch.setenv("NEWSBOT_ADMIN_WORKERS", "3")
    monkeypatch.setenv("NEWSBOT_INGEST_JOBS_PER_SERVER", "1")
    monkeypatch.setenv("NEWSBOT_FEEDS_PER_SERVER", "5")
    settings = BotSettings(_env_file=None)
    assert (settings.admin_workers, settings.ingest_jobs_per_server, settings.feeds_per_server) == (3, 1, 5)


def test_feeds_may_be_polled_every_fraction_of_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FEED_POLL_MINUTES", "0.25")  # bench/soak.py polls its local site every 15 s
    minutes = BotSettings(_env_file=None).feed_poll_minutes
    assert minutes == 0.25 and polling_note(minutes) == "I check the feeds every 0.25 minutes."
    assert polling_note(BotSettings(_env_file=None, feed_poll_minutes=15).feed_poll_minutes).endswith(
        "every 15 minutes."
    )


def test_the_bots_settings_come_in_sections_beside_the_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    views = [view for view in vars(BotSettings).values() if isinstance(view, SectionView)]
    views += [view for view in vars(Settings).values() if isinstance(view, SectionView)]
    fields = [field for view in views for field in view.section.model_fields]
    assert sorted(fields) == sorted(BotSettings.model_fields)  # none left out, none in two
    monkeypatch.setenv("NEWSBOT_WATCH_LIMIT", "3")
    settings = BotSettings(_env_file=None, shard_count=2, metrics_port=0)
    assert (
        settings.discord.sharded and settings.quotas.watch_limit == 3 and settings.metrics.metrics_port == 0
    )
    assert settings.retrieval.top_k == settings.top_k
