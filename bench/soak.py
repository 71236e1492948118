"""A soak run: the real bot against the fake Discord for a while, with members, an admin and a feed.

    python bench/soak.py [--minutes 30] [--data-dir DIR] [--members 20] [--rate 2] [--upload-mb 3]
                         [--json FILE]

`bot.app.create_bot` runs in this process against tests/fakediscord, as the bot tests run it, over a
copy of DIR (by default a data dir built from examples/news and the test fixtures). Members each ask
``--rate`` questions a minute at random moments (/ask, /search or an @mention) and press the answers'
buttons, votes included; an admin follows a local site's RSS feed (a new item every `FEED_STEP_S` s,
polled every `FEED_POLL_MINUTES`), uploads a .jsonl of synthetic articles to /ingest (at most
NEWSBOT_FETCH_MAX_BYTES) and lists the feeds now and then. Other NEWSBOT_* settings come from the
environment (e.g. NEWSBOT_ANSWER_PROCESSES=2).

It prints a table (and writes --json) and exits 1 when a target is missed: every interaction
acknowledged (its creation to the bot's first callback) within 3 s; no heartbeat missed (a gap over
1.5 intervals, or one not acknowledged); no event-loop block over 250 ms (`bot.watchdog`); memory
growing less than 10% after the warm-up (a third of the run, at most 5 minutes, and the upload in);
no error: logged at ERROR level, an interaction or mention never answered, a request the fake refused.
Answer times (to the final message) are reported too. The fake keeps only the last `WINDOW_S` seconds
of its records, so the memory measured is the bot's own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from askers import memory  # sibling scripts: bench/ is on sys.path
from scale import percentile

from bot.app import create_bot
from bot.settings import BotSettings
from index.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "bot")]  # the fake Discord and its helpers
from fakediscord import (  # noqa: E402
    FakeDiscord,
    FakeInteraction,
    FakeUser,
    RecordedRequest,
    UploadedFile,
    running_client,
)
from harness import TOKEN, buttons, write_harbour_stories  # noqa: E402

log = logging.getLogger("soak")

FIXTURES = ROOT / "tests" / "fixtures"
ARTICLES = [FIXTURES / name / "articles.jsonl" for name in ("quality", "rerank", "time", "trend")]
QUESTIONS = [
    *(json.loads(line)["question"] for name in ("quality", "rerank")
      for line in (FIXTURES / name / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line),
    "who warned ships?", "what did Blinken say?", "when does the night ferry return?", "who won the cup?",
]  # fmt: skip
QUERIES = ["ferry", "harbour strike", "council vote", "missile launch", "pay offer", "tidal energy"]
HEARTBEAT_MS = 1000  # the fake's heartbeat interval (Discord's is about 41 s)
FEED_POLL_MINUTES = 0.25
FEED_STEP_S = 10.0  # a new item on the local feed this often; it lists its 5 newest
ACK_LIMIT_S = 3.0
ANSWER_TIMEOUT_S = 60.0  # an interaction or a mention still unanswered then has failed
UPLOAD_DRAIN_S = 600.0  # after the run, how long the upload may take to finish before the bot stops
WINDOW_S = 300.0  # seconds of records the fake keeps
WARMUP_MAX_S = 300.0
MEMORY_EVERY_S = 30.0
POLL_S = 0.05


class ErrorLog(logging.Handler):
    """Counts the records logged at ERROR or above, anywhere, keeping the first few to show."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 5:
            self.first.append(f"{record.name}: {record.getMessage()}"[:300])


def synthetic(pool: list[str], n: int, desk: str) -> dict[str, Any]:
    """Article ``n`` of a desk: four of the pool's paragraphs and a line of its own, so none is a copy."""
    chosen = random.Random(f"{desk}-{n}").sample(pool, 4)
    return {
        "id": f"{desk}-{n}",
        "title": f"{' '.join(chosen[0].split()[:7])} ({desk} {n})",
        "text": "\n\n".join([*chosen, f"This is report {n} of the {desk} desk."]),
        "source": f"Soak {desk.title()}",
        "published": (date(2024, 1, 1) + timedelta(days=n % 366)).isoformat(),
    }


def upload_file(pool: list[str], megabytes: float) -> tuple[bytes, int]:
    """A .jsonl of synthetic articles of about ``megabytes`` MB, and how many articles it holds."""
    lines: list[str] = []
    while sum(map(len, lines)) + len(lines) < megabytes * 1e6:
        lines.append(json.dumps(synthetic(pool, len(lines), "upload")))
    return "\n".join(lines).encode(), len(lines)


@asynccontextmanager
async def feed_site(pool: list[str]) -> AsyncIterator[str]:
    """A local news site whose /feed.xml lists its 5 newest articles (/news/N.html), one more every
    `FEED_STEP_S` seconds; yields the feed's URL."""
    started = time.monotonic()

    async def feed(request: web.Request) -> web.Response:
        newest, base = int((time.monotonic() - started) / FEED_STEP_S), request.url.origin()
        items = "".join(
            f"<item><title>{html.escape(synthetic(pool, n, 'feed')['title'])}</title>"
            f"<link>{base}/news/{n}.html</link><guid isPermaLink='false'>feed-{n}</guid>"
            f"<pubDate>{format_datetime(datetime.now(UTC))}</pubDate></item>"
            for n in range(max(0, newest - 4), newest + 1)
        )
        rss = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Soak Gazette</title>{items}"
        return web.Response(text=rss + "</channel></rss>", content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        article = synthetic(pool, int(request.match_info["n"]), "feed")
        title = html.escape(article["title"])
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article["text"].split("\n\n"))
        text = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
        return web.Response(text=text + "</article></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_get(r"/news/{n:\d+}.html", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/feed.xml"
    finally:
        await runner.cleanup()


def answered(ix: FakeInteraction) -> RecordedRequest | None:
    """The request that answered ``ix``: its callback when that carried a message (or was refused),
    else the first webhook call (the edit of the deferral, or a followup)."""
    for request in ix.requests:
        if request.status and (
            "/webhooks/" in request.path
            or request.status >= 400
            or (ix.callbacks and ix.callbacks[0]["type"] not in (5, 6))
        ):
            return request
    return None


class Soak:
    """The members' and the admin's work against one bot, and what it measured."""

    def __init__(self, fake: FakeDiscord, until: float) -> None:
        self.fake, self.until, self.done = fake, until, Counter[str]()
        self.acks: list[float] = []  # seconds from an interaction to its first callback
        self.answers: list[float] = []  # seconds from a question to its final message
        self.failed: list[str] = []  # interactions and mentions never answered
        self.refused: list[str] = []  # requests the fake refused (status >= 400)
        self.replies: dict[str, asyncio.Future[RecordedRequest]] = {}  # mention's id -> the bot's reply
        self.uploaded = asyncio.Event()  # the admin's /ingest returned
        self.uploaded_at: float | None = None
        self.timeline: list[dict[str, int]] = []  # memory readings through the run

    async def on_completion(self, interaction: Any, command: Any) -> None:
        if command.name == "ingest":
            self.uploaded_at = time.monotonic()
            self.uploaded.set()

    async def warm_memory(self, seconds: float) -> dict[str, int]:
        """The memory once warm: ``seconds`` in, and the upload in unless the run ends first (the
        index grows with it, as it should)."""
        await asyncio.sleep(seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.uploaded.wait(), max(0.0, self.until - time.monotonic()))
        return memory(os.getpid())

    async def sample_memory(self, every: float) -> None:
        """A memory reading every ``every`` seconds into ``timeline``, to see what grows and whether
        it levels off."""
        start = time.monotonic()
        while True:
            self.timeline.append({"s": round(time.monotonic() - start), **memory(os.getpid())})
            await asyncio.sleep(every)

    async def pause(self, rng: random.Random, per_minute: float) -> bool:
        """An exponential wait (arrivals as a Poisson process); False when the run ends first."""
        delay = rng.expovariate(per_minute / 60)
        await asyncio.sleep(min(delay, max(0.0, self.until - time.monotonic())))
        return time.monotonic() < self.until

    async def interact(self, sent: Awaitable[FakeInteraction], *, question: bool = False) -> FakeInteraction:
        """An interaction, until the bot answered it; tallies how fast it was acknowledged (and answered)."""
        ix = await sent
        while (done := answered(ix)) is None and time.monotonic() - ix.created < ANSWER_TIMEOUT_S:
            await asyncio.sleep(POLL_S)
        callback = next((r for r in ix.requests if r.path.endswith("/callback")), None)
        if callback is None or callback.status >= 400:
            self.failed.append(f"interaction {ix.payload['data']} not acknowledged"[:300])
        else:
            self.acks.append(callback.time - ix.created)
        if question and done is not None:
            self.answers.append(done.time - ix.created)
        return ix

    async def mention(self, user: FakeUser, question: str) -> dict[str, Any] | None:
        """An @mention, until the bot replied; tallies how fast. The reply, if there was one."""
        sent = time.monotonic()
        message = await self.fake.message(f"{self.fake.bot_mention} {question}", author=user)
        reply = self.replies[message["id"]] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                request = await reply
        except TimeoutError:
            self.failed.append(f"mention {question!r} never answered")
            return None
        finally:
            del self.replies[message["id"]]
        self.answers.append(request.time - sent)
        return request.response if request.status < 400 else None

    async def member(self, user: FakeUser, per_minute: float) -> None:
        """Asks, searches or mentions at random, then presses up to two of the answer's buttons."""
        rng = random.Random(user.username)
        while await self.pause(rng, per_minute):
            kind = rng.choices(["ask", "search", "mention"], [4, 2, 2])[0]
            self.done[kind] += 1
            try:
                if kind == "mention":
                    message = await self.mention(user, rng.choice(QUESTIONS))
                else:
                    name, choices = ("question", QUESTIONS) if kind == "ask" else ("query", QUERIES)
                    asked = self.fake.slash_command(kind, {name: rng.choice(choices)}, user=user)
                    ix = await self.interact(asked, question=True)
                    message = self.fake.get_message(ix.original_id) if ix.original_id else None
                for _ in range(rng.randrange(3)):
                    shown = self.fake.get_message(int(message["id"])) if message else {}
                    live = [
                        b["custom_id"]
                        for b in buttons(shown).values()
                        if "custom_id" in b and not b.get("disabled")
                    ]
                    if not live:
                        break
                    self.done["press"] += 1
                    await self.interact(self.fake.component_click(shown, rng.choice(live), user=user))
            except Exception:  # the harness's own bug: counted as an error, and the member goes on
                log.exception("member %s failed at a %s", user.username, kind)

    async def admin(self, feed_url: str, upload: bytes) -> FakeInteraction:
        """Follows the feed, uploads the file, lists the feeds now and then, and at the end waits (at
        most `UPLOAD_DRAIN_S`) for the upload to be in: stopping the bot during a job is not what this
        measures. The upload's interaction."""
        admin, rng = self.fake.admin_user, random.Random("admin")
        follow = {"url": feed_url, "name": "Soak Gazette"}
        await self.interact(self.fake.slash_command("feeds add", follow, user=admin))
        file = UploadedFile("file", "soak.jsonl", "application/json", upload)
        ix = await self.interact(self.fake.slash_command("ingest", {"file": file}, user=admin))
        while await self.pause(rng, 2):
            self.done["feeds list"] += 1
            await self.interact(self.fake.slash_command("feeds list", user=admin))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.uploaded.wait(), UPLOAD_DRAIN_S)
        return ix

    async def read_requests(self) -> None:
        """Reads the requests as they complete, for the replies to mentions and the refusals, and keeps
        the fake's records to the last `WINDOW_S` seconds."""
        requests, read, pruned = self.fake.requests, 0, time.monotonic()
        while True:
            stale = time.monotonic() - ANSWER_TIMEOUT_S  # a request the fake never answered is read then
            while read < len(requests) and (requests[read].status or requests[read].time < stale):
                self._read(requests[read])
                read += 1
            if time.monotonic() - pruned > WINDOW_S / 10:
                before = len(requests)
                self.fake.forget(WINDOW_S)
                read, pruned = max(0, read - (before - len(requests))), time.monotonic()
            await asyncio.sleep(POLL_S)

    def _read(self, request: RecordedRequest) -> None:
        response = request.response if isinstance(request.response, dict) else {}
        expired = response.get("code") == 50027  # a long job's token: it reports in its channel message
        if not request.status or request.status >= 400 and not expired:
            self.refused.append(f"{request.method} {request.path} -> {request.status} {response}"[:300])
        body = request.json if isinstance(request.json, dict) and request.method == "POST" else {}
        replied = str((body.get("message_reference") or {}).get("message_id"))
        if (reply := self.replies.get(replied)) is not None and not reply.done():
            reply.set_result(request)


def heartbeats(fake: FakeDiscord, start: float, end: float) -> dict[str, Any]:
    """Heartbeats from ``start`` to ``end``; a gap over 1.5 intervals (from either end too) is missed."""
    points = [start, *(t for t in fake.heartbeat_times if start <= t <= end), end]
    gaps = [b - a for a, b in zip(points, points[1:], strict=False)]
    unacknowledged = len(fake.heartbeat_times) - fake.heartbeat_acks
    return {
        "sent": len(points) - 2,
        "missed": sum(gap > 1.5 * HEARTBEAT_MS / 1000 for gap in gaps) + unacknowledged,
        "longest_gap_s": round(max(gaps), 3),
        "reconnects": len(fake.identifies) - 1 + fake.resumes,
    }


def spread(seconds: list[float]) -> dict[str, Any]:
    shares = {"p50_s": 0.5, "p95_s": 0.95, "max_s": 1.0}
    return {"count": len(seconds)} | {
        name: round(percentile(seconds, share), 3) if seconds else None for name, share in shares.items()
    }


async def soak(args: argparse.Namespace, data: Path, build: bool, errors: ErrorLog) -> dict[str, Any]:
    """The run, over the data dir ``data`` (filled first when ``build``); the report."""
    settings = BotSettings(
        _env_file=None,
        data_dir=data,
        discord_token=TOKEN,
        cooldown_rate=10_000,  # the members are many users' load, not one user's flood
        guild_rate=10_000,
        feed_poll_minutes=FEED_POLL_MINUTES,
        allow_private_urls=True,  # the feed's site is on 127.0.0.1
        loop_block_ms=250,
    )
    texts = [
        json.loads(line)["text"] for path in ARTICLES for line in path.read_text("utf-8").splitlines() if line
    ]
    pool = [p.strip() for text in texts for p in text.split("\n\n") if p.strip()]
    upload, articles = upload_file(pool, args.upload_mb)
    engine = Engine(settings)
    try:
        if build:
            sources = [ROOT / "examples" / "news", *ARTICLES, write_harbour_stories(data.parent)]
            log.info("built the data dir: %d articles", engine.ingest_paths(sources).new)
        async with (
            FakeDiscord(token=TOKEN, heartbeat_interval_ms=HEARTBEAT_MS) as fake,
            feed_site(pool) as feed,
            running_client(create_bot(settings, engine, guild_ready_timeout=0.05), fake) as bot,
        ):
            members = [fake.add_user(f"member{n}") for n in range(args.members)]
            start = time.monotonic()
            run = Soak(fake, until=start + args.minutes * 60)
            bot.add_listener(run.on_completion, "on_app_command_completion")
            reader = asyncio.create_task(run.read_requests())
            warm = asyncio.create_task(run.warm_memory(min(WARMUP_MAX_S, args.minutes * 20)))
            sampler = asyncio.create_task(run.sample_memory(MEMORY_EVERY_S))
            blocks_before = bot.watchdog.blocks
            log.info("soaking for %g minutes with %d members", args.minutes, args.members)
            *_, upload_ix = await asyncio.gather(
                *(run.member(user, args.rate) for user in members), run.admin(feed, upload)
            )
            end, at_end, at_warm = time.monotonic(), memory(os.getpid()), await warm
            reader.cancel()
            sampler.cancel()
            blocks, longest = bot.watchdog.blocks, bot.watchdog.longest
            (followed,) = await bot.run_admin(engine.feeds.list, str(fake.guild_id))
            beats = heartbeats(fake, start, end)
    finally:
        engine.close()
    uploaded = run.uploaded_at
    moments = (("after_warmup", at_warm), ("end", at_end))
    report: dict[str, Any] = {
        "minutes": args.minutes,
        "members": args.members,
        "rate": args.rate,
        "done": dict(run.done),
        "acknowledged": spread(run.acks),
        "answered": spread(run.answers),
        "heartbeats": beats,
        "loop_blocks": {
            "over_250ms": blocks - blocks_before,
            "longest_ms_since_start": round(longest * 1000),
        },
        "memory_mb": {
            "after_warmup": at_warm["rss"],
            "end": at_end["rss"],
            "growth": round(at_end["rss"] / at_warm["rss"] - 1, 4),
            **{f"{kind}_{when}": at[kind] for kind in ("anon", "file") for when, at in moments},
            "anon_growth": round(at_end["anon"] / at_warm["anon"] - 1, 4),
        },
        "upload": {
            "articles": articles,
            "megabytes": round(len(upload) / 1e6, 2),
            "seconds": None if uploaded is None else round(uploaded - upload_ix.created, 1),
        },
        "feed_items_stored": followed.items_stored,
        "errors": {
            "logged": errors.count,
            "failed_interactions": len(run.failed),
            "refused_requests": len(run.refused),
            "first": (errors.first + run.failed + run.refused)[:10],
        },
    }
    report["targets"] = {
        "acknowledged < 3 s": not run.failed and (report["acknowledged"]["max_s"] or 0) < ACK_LIMIT_S,
        "no heartbeat missed": beats["missed"] == 0,
        "no loop block > 250 ms": not report["loop_blocks"]["over_250ms"],
        "memory growth < 10%": report["memory_mb"]["growth"] < 0.10,
        "no errors": errors.count == 0 and not run.failed and not run.refused,
    }
    report["passed"] = all(report["targets"].values())
    report["memory_timeline"] = run.timeline
    return report


def table(report: dict[str, Any]) -> str:
    """The report, one line per figure ("answered p95_s  0.41"); the memory timeline is in the JSON."""
    rows = [
        (f"{key} {name}".strip(), value)
        for key, section in report.items()
        if key != "memory_timeline"
        for name, value in (section.items() if isinstance(section, dict) else [("", section)])
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--data-dir", type=Path, help="run on a copy of this data dir")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="questions a minute each member asks")
    parser.add_argument("--upload-mb", type=float, default=3.0, help="the size of the admin's upload")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    with tempfile.TemporaryDirectory(prefix="newsbot-soak-") as work:
        data = Path(work) / "data"
        if args.data_dir is not None:
            shutil.copytree(args.data_dir, data)
        report = asyncio.run(soak(args, data, args.data_dir is None, errors))
    print(table(report))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
