"""/metrics and /healthz: the real bot against FakeDiscord, scraped as Prometheus would."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from fakediscord import FakeDiscord, UploadedFile
from harness import final_message, run_command
from prometheus_client.parser import text_string_to_metric_families

from bot.app import NewsBot
from bot.checks import BUSY
from bot.health import Health
from bot.settings import BotSettings
from index.core.errors import EngineError

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get(bot: NewsBot, path: str) -> tuple[int, str, str]:
    """The status, content type and body of ``path`` on the bot's metrics port."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.metrics.port}{path}") as r,
    ):
        return r.status, r.headers["Content-Type"], await r.text()


async def scrape(bot: NewsBot) -> Samples:
    """Every sample /metrics shows, by name and labels."""
    status, kind, text = await get(bot, "/metrics")
    assert status == 200 and kind.startswith("text/plain; version="), (status, kind)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def healthz(bot: NewsBot) -> tuple[int, dict[str, Any]]:
    status, kind, text = await get(bot, "/healthz")
    assert kind.startswith("application/json")
    return status, json.loads(text)


def question(command: str, outcome: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("newsbot_questions_total", (("command", command), ("outcome", outcome)))


async def test_metrics_count_the_questions_asked_and_healthz_says_healthy(
    start_bot: Callable[..., Any], fake: FakeDiscord
) -> None:
    async with start_bot(metrics_port=0, queue_limit=1, feed_poll_minutes=0) as bot:
        assert bot.metrics.port  # port 0: a free one was picked, and is shown
        await run_command(bot, fake, "ask", {"question": "who warned ships?"})
        refused = await run_command(bot, fake, "ask", {"question": "what is the capital of France?"})
        assert final_message(fake, refused)["embeds"][0]["description"].startswith("The news I have doesn't")
        await run_command(bot, fake, "search", {"query": "ballistic missiles"})
        await fake.message(f"{fake.bot_mention} who warned ships?")
        await fake.wait_for_request("POST", rf"/channels/{fake.channel_id}/messages$", timeout=30)

        leave = bot.limits.queue.join()  # the one waiting place is taken: the next question is told busy
        await fake.message(f"{fake.bot_mention} who warned ships?")
        await fake.wait_for(lambda r: r.path.endswith("/messages") and r.json.get("content") == BUSY)
        during = await scrape(bot)
        leave()

        await bot.poll_feeds()  # no feeds followed: a poll that ran through
        upload = UploadedFile("file", "quay.txt", "text/plain", b"Quay\n\nThe quay closes on Monday.")
        await run_command(bot, fake, "ingest", {"file": upload}, user=fake.admin_user)

        samples = await scrape(bot)
        status, body = await healthz(bot)

    assert samples[question("ask", "answered")] == 1
    assert samples[question("ask", "refused")] == 1
    assert samples[question("search", "answered")] == 1
    assert samples[question("mention", "answered")] == 1
    assert sum(v for (name, _), v in samples.items() if name == "newsbot_questions_total") == 4
    assert samples[("newsbot_question_seconds_count", (("command", "ask"),))] == 2
    assert samples[("newsbot_question_seconds_count", (("command", "search"),))] == 1
    for stage in ("embed", "candidates", "rerank"):  # the engine's own timings of /ask and the mention
        assert samples[("newsbot_engine_stage_seconds_count", (("stage", stage),))] == 3
    assert samples[("newsbot_engine_stage_seconds_sum", (("stage", "rerank"),))] > 0

    assert during[("newsbot_question_queue_waiting", ())] == 1
    assert samples[("newsbot_question_queue_waiting", ())] == 0
    assert samples[("newsbot_busy_replies_total", ())] == 1  # refused before it was taken: no question
    assert samples[("newsbot_loop_blocks_total", ())] == bot.watchdog.blocks
    assert samples[("newsbot_feed_polls_total", (("outcome", "ok"),))] == 1
    assert samples[("newsbot_feed_poll_last_success_timestamp_seconds", ())] > 0
    assert samples[("newsbot_ingest_jobs_total", (("outcome", "finished"),))] == 1
    assert samples[("newsbot_ingest_jobs_running", ())] == 0
    assert samples[("newsbot_gateway_connected", ())] == 1

    assert status == 200, body
    assert body["healthy"] and body["gateway_connected"] and body["engine_open"]
    assert 0 <= body["heartbeat_ack_age_s"] < body["heartbeat_stale_after_s"]


async def test_healthz_is_503_when_discord_stopped_acknowledging_heartbeats(
    start_bot: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start_bot(metrics_port=0) as bot:
        assert (await healthz(bot))[0] == 200
        beat = bot.ws._keep_alive
        monkeypatch.setattr(beat, "ack", lambda: None)  # the acks stop coming
        beat._last_ack -= 60
        status, body = await healthz(bot)
    assert status == 503
    assert body["gateway_connected"] and not body["healthy"]
    assert body["heartbeat_ack_age_s"] > body["heartbeat_stale_after_s"]


def test_unhealthy_without_the_engine_or_a_heartbeat_yet() -> None:
    assert Health(True, True, 1.0, 10.5).healthy
    assert not Health(True, False, 1.0, 10.5).healthy
    assert not Health(True, True, None, None).healthy
    assert not Health(False, True, 1.0, 10.5).healthy


async def test_no_metrics_server_unless_a_port_is_set(bot: NewsBot) -> None:
    assert BotSettings(_env_file=None).metrics_port is None
    assert bot.metrics.port is None
    assert bot.watchdog._thread is not None  # the watchdog runs anyway


async def test_a_metrics_port_in_use_stops_the_start_with_what_to_do(start_bot: Callable[..., Any]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            EngineError, match=f"cannot serve metrics on 127.0.0.1:{port}.*NEWSBOT_METRICS_PORT"
        ):
            async with start_bot(metrics_port=port):
                pass
