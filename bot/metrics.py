"""What an operator watches: Prometheus metrics at ``/metrics`` and a health check at ``/healthz``.

Both are served by aiohttp on the bot's own event loop (NEWSBOT_METRICS_PORT; off when unset), not
by prometheus_client's server thread: one server for both paths, closed with the bot, and a loop so
held that it cannot answer ``/healthz`` in time is exactly what a liveness probe should see. The
figures live in a registry of the bot's own, so several bots in one process (the tests) never mix
them. Counters are kept whether or not they are served; they cost a few increments per question.

A question's outcome is one of: ``answered``; ``refused`` (the news does not say, or nothing was
found); ``busy`` (the engine queue was full when it got there); ``rejected`` (a question the user
must fix); ``failed`` (a bug, logged). ``newsbot_busy_replies_total`` counts every "busy" reply,
also those given before a question was taken (a full queue at admission) and to buttons.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot import health
from bot.checks import Busy
from bot.errors import UserError
from index import AskResult, EngineError, PollReport

log = logging.getLogger(__name__)

T = TypeVar("T")

QUESTION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # seconds, queue wait included
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _failure(error: Exception) -> str:
    if isinstance(error, Busy):
        return "busy"
    return "rejected" if isinstance(error, UserError) else "failed"


class _Live(Collector):
    """Figures read from the bot when scraped: the engine queue, the watchdog, the gateway."""

    def __init__(self, bot: health.Watched) -> None:
        self.bot = bot

    def collect(self) -> Iterator[Metric]:
        queue, watchdog, state = self.bot.limits.queue, self.bot.watchdog, health.check(self.bot)
        yield GaugeMetricFamily(
            "newsbot_question_queue_waiting", "Questions waiting for an engine thread.", value=queue.waiting
        )
        yield CounterMetricFamily(
            "newsbot_busy_replies", 'Questions answered "busy" (NEWSBOT_QUEUE_LIMIT).', value=queue.busy
        )
        yield CounterMetricFamily(
            "newsbot_loop_blocks",
            "Callbacks that held the event loop past NEWSBOT_LOOP_BLOCK_MS (logged with their stack).",
            value=watchdog.blocks,
        )
        yield GaugeMetricFamily(
            "newsbot_loop_block_longest_seconds",
            "The longest the event loop was held.",
            value=watchdog.longest,
        )
        yield GaugeMetricFamily(
            "newsbot_gateway_connected",
            "1 while every gateway connection is open.",
            value=float(state.gateway_connected),
        )
        if state.heartbeat_ack_age_s is not None:
            yield GaugeMetricFamily(
                "newsbot_heartbeat_ack_age_seconds",
                "Seconds since Discord last acknowledged a heartbeat (the oldest over the shards).",
                value=state.heartbeat_ack_age_s,
            )


class BotMetrics:
    """The bot's metrics, and the server that shows them (`serve`, `close`; `port` once serving)."""

    def __init__(self, bot: health.Watched) -> None:
        self.bot = bot
        self.registry = registry = CollectorRegistry()
        self.questions = Counter(
            "newsbot_questions",
            "Questions taken, by command (ask, search, mention) and outcome.",
            ["command", "outcome"],
            registry=registry,
        )
        self.question_seconds = Histogram(
            "newsbot_question_seconds",
            "A question from the bot handing it over to its result, waiting for a thread included.",
            ["command"],
            buckets=QUESTION_BUCKETS,
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "newsbot_engine_stage_seconds",
            "The engine's time per stage of an /ask or a mention: embed, candidates, rerank.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=registry,
        )
        self.ingest_running = Gauge("newsbot_ingest_jobs_running", "/ingest jobs running.", registry=registry)
        self.ingest_jobs = Counter(
            "newsbot_ingest_jobs",
            "/ingest jobs ended: finished, failed or cancelled.",
            ["outcome"],
            registry=registry,
        )
        self.feed_polls = Counter(
            "newsbot_feed_polls",
            "Feed polls by outcome: ok, or failed as a whole.",
            ["outcome"],
            registry=registry,
        )
        self.feed_errors = Counter(
            "newsbot_feed_errors", "Feeds that could not be read in a poll that ran.", registry=registry
        )
        self.feed_last_success = Gauge(
            "newsbot_feed_poll_last_success_timestamp_seconds",
            "When a feed poll last ran through (Unix time; 0 = not yet).",
            registry=registry,
        )
        registry.register(_Live(bot))
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    # -- recording ----------------------------------------------------------------------------

    async def question(self, command: str, work: Awaitable[T]) -> T:
        """``work``, a question handed to the engine, awaited: counted by outcome and timed. A question
        cancelled (the bot is closing) is neither."""
        started = time.perf_counter()
        try:
            result = await work
        except Exception as exc:
            self._took(command, _failure(exc), started)
            raise
        answered = result.answered if isinstance(result, AskResult) else bool(result)
        self._took(command, "answered" if answered else "refused", started)
        if isinstance(result, AskResult):
            for stage, seconds in result.timings.items():
                self.stage_seconds.labels(stage).observe(seconds)
        return result

    def _took(self, command: str, outcome: str, started: float) -> None:
        self.questions.labels(command, outcome).inc()
        self.question_seconds.labels(command).observe(time.perf_counter() - started)

    def ingest_started(self) -> None:
        self.ingest_running.inc()

    def ingest_ended(self, task: asyncio.Future[object]) -> None:
        """The job whose work is ``task`` ended; not done = the job itself was cancelled."""
        self.ingest_running.dec()
        if not task.done() or task.cancelled():
            outcome = "cancelled"
        else:
            outcome = "failed" if task.exception() is not None else "finished"
        self.ingest_jobs.labels(outcome).inc()

    def feed_poll(self, report: PollReport | None) -> None:
        """A feed poll's report; None when it failed as a whole (logged where it failed)."""
        if report is None:
            self.feed_polls.labels("failed").inc()
            return
        self.feed_polls.labels("ok").inc()
        self.feed_errors.inc(len(report.failed))
        self.feed_last_success.set_to_current_time()

    # -- serving -------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Serve /metrics and /healthz when NEWSBOT_METRICS_PORT is set (0: any free port, see `port`)."""
        settings = self.bot.settings
        if settings.metrics_port is None or self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)  # a scrape takes milliseconds
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
        except OSError as exc:
            await runner.cleanup()
            raise EngineError(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port} ({exc.strerror}): "
                "set NEWSBOT_METRICS_PORT to a free port, or unset it to serve none"
            ) from exc
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("metrics on http://%s:%d/metrics, health on /healthz", settings.metrics_host, self.port)

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        now = health.check(self.bot)
        return web.json_response(now.to_dict(), status=200 if now.healthy else 503)
