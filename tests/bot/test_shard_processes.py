"""Two real `newsbot serve` processes, one shard range each, on one PostgreSQL and the fake Discord:
each answers only its own guild, both quote what the command line ingests, and a feed followed from a
guild of each shard is fetched once a poll interval, not once per process.

Model-free (NEWSBOT_MODEL=hash, no reranker), so the processes start in seconds; their logs go to
files, shown when an assertion fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from fakediscord import FakeDiscord, FakeGuild, FakeInteraction
from harness import TOKEN, embed_text

POLL_SECONDS = 3.0  # NEWSBOT_FEED_POLL_MINUTES, in seconds: each process polls this often
QUESTION = "why did the lighthouse keepers walk out?"
STORY = {
    "id": "keepers",
    "title": "Lighthouse keepers strike",
    "text": "The lighthouse keepers of Port Ellen walked out on Friday over night shifts. "
    "The coast guard said ships were warned.",
    "source": "Harbour Herald",
    "published": "2024-03-01",
}
QUOTED = "walked out on Friday over night shifts"
EMPTY_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Quay news</title>'
    "<link>http://127.0.0.1/</link><description>nothing yet</description></channel></rss>"
)


@dataclass
class Served:
    """One `newsbot serve --shard-ids N` subprocess and the file its log goes to."""

    shard: int
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics_port(self) -> int | None:
        found = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", self.text())
        return int(found[1]) if found else None


def _environment(tmp_path: Path, pg_url: str, fake: FakeDiscord, name: str) -> dict[str, str]:
    """The settings of a process of this deployment: the one database, the fake Discord, no models."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    return kept | {
        "DISCORD_TOKEN": TOKEN,
        "NEWSBOT_DATA_DIR": str(tmp_path / name),
        "NEWSBOT_DATABASE_URL": pg_url,
        "NEWSBOT_MODEL": "hash",
        "NEWSBOT_RERANK": "false",
        "NEWSBOT_DISCORD_API_URL": fake.api_url,
        "NEWSBOT_DISCORD_GATEWAY_URL": fake.gateway_url,
        "NEWSBOT_REFRESH_SECONDS": "0.5",
        "NEWSBOT_FEED_POLL_MINUTES": str(POLL_SECONDS / 60),
        "NEWSBOT_ALLOW_PRIVATE_URLS": "true",  # the feed is served on 127.0.0.1
        "NEWSBOT_METRICS_PORT": "0",
        "NEWSBOT_COOLDOWN_RATE": "100",
        "NEWSBOT_WORKERS": "2",
        "NEWSBOT_ADMIN_WORKERS": "1",
    }


@contextmanager
def serving(tmp_path: Path, pg_url: str, fake: FakeDiscord) -> Iterator[list[Served]]:
    """`newsbot serve` for shard 0 and for shard 1 of 2; killed at the end, their logs printed on failure."""
    served: list[Served] = []
    try:
        for shard in range(2):
            log = tmp_path / f"shard{shard}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bot", "serve", "--shard-ids", str(shard), "--shard-count", "2"],
                    env=_environment(tmp_path, pg_url, fake, f"shard{shard}"),
                    cwd=tmp_path,  # no .env here
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            served.append(Served(shard, process, log))
        yield served
    except BaseException:
        for one in served:
            print(f"--- newsbot serve --shard-ids {one.shard} (exit {one.process.poll()}):\n{one.text()}")
        raise
    finally:
        for one in served:
            one.process.terminate()
        for one in served:
            try:
                one.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                one.process.kill()
                one.process.wait()


async def _until(condition: Callable[[], Awaitable[object]], what: str, timeout: float) -> None:
    """Poll ``condition`` until it is truthy, else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.2)


async def _healthy(http: aiohttp.ClientSession, one: Served) -> bool:
    if one.process.poll() is not None:
        raise AssertionError(f"newsbot serve --shard-ids {one.shard} exited with {one.process.returncode}")
    port = one.metrics_port()
    if port is None:
        return False
    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status == 200


async def _asks_taken(http: aiohttp.ClientSession, one: Served) -> int:
    """The /ask questions this process took, whatever their outcome (its /metrics)."""
    async with http.get(f"http://127.0.0.1:{one.metrics_port()}/metrics") as response:
        text = await response.text()
    found = re.findall(r'^newsbot_questions_total\{command="ask",outcome="\w+"\} (\S+)$', text, re.M)
    return int(sum(float(count) for count in found))


async def _answer(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """The text of the bot's answer to ``ix`` (deferred, then edited in), once it is there."""
    await fake.wait_for(lambda r: r.method == "PATCH" and ix.token in r.path and r.status == 200, 60)
    assert ix.original_id is not None
    message = fake.get_message(ix.original_id)
    return "\n".join([message["content"], *(embed_text(e) for e in message["embeds"])])


async def _quotes_the_story(fake: FakeDiscord, guild: FakeGuild) -> bool:
    ix = await fake.slash_command("ask", {"question": QUESTION}, channel_id=guild.channel_id)
    return QUOTED in await _answer(fake, ix)


async def _asks_taken_are(http: aiohttp.ClientSession, served: list[Served], expected: list[int]) -> bool:
    return [await _asks_taken(http, one) for one in served] == expected


@asynccontextmanager
async def counting_feed_site() -> AsyncIterator[tuple[str, list[float]]]:
    """An empty RSS feed on 127.0.0.1; yields its URL and the times it was fetched."""
    fetched: list[float] = []

    async def feed(request: web.Request) -> web.Response:
        fetched.append(time.monotonic())
        return web.Response(text=EMPTY_FEED, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/feed.xml", fetched
    finally:
        await runner.cleanup()


async def test_two_shard_processes_share_one_database(tmp_path: Path, pg_url: str) -> None:
    async with (
        FakeDiscord(token=TOKEN, interaction_timeout=None) as fake,
        counting_feed_site() as (feed_url, fetched),
        aiohttp.ClientSession() as http,
    ):
        guilds = [fake.add_guild(f"Shard {shard} news", shard=(shard, 2)) for shard in range(2)]
        with serving(tmp_path, pg_url, fake) as served:
            for one in served:
                await _until(lambda one=one: _healthy(http, one), f"shard {one.shard} ready", 90)
            assert sorted(identify["shard"] for identify in fake.identifies) == [[0, 2], [1, 2]]
            assert "this process runs shards 0 of 2" in served[0].text()

            # (1) Each guild's /ask is taken by the process that runs its shard, and only by it.
            for guild, expected in zip(guilds, ([1, 0], [1, 1]), strict=True):
                assert not await _quotes_the_story(fake, guild)  # nothing ingested yet
                await _until(
                    lambda expected=expected: _asks_taken_are(http, served, expected),
                    f"the processes' /ask counts at {expected} after one in {guild.name}",
                    10,
                )

            # (2) What the command line ingests, both processes quote within seconds.
            story = tmp_path / "story.jsonl"
            story.write_text(json.dumps(STORY) + "\n")
            ingest = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "ingest",
                str(story),
                env=_environment(tmp_path, pg_url, fake, "cli"),
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(ingest.communicate(), 60)
            assert ingest.returncode == 0 and out.decode().startswith("1 new"), out.decode()
            for guild in guilds:  # each process follows the other's writes (NEWSBOT_REFRESH_SECONDS)
                await _until(
                    lambda guild=guild: _quotes_the_story(fake, guild), f"{guild.name} quoting the story", 15
                )

            # (3) A feed followed from a guild of each shard is fetched once a poll, not once a process.
            for guild in guilds:
                ix = await fake.slash_command(
                    "feeds add", {"url": feed_url}, user=fake.admin_user, channel_id=guild.channel_id
                )
                assert (await _answer(fake, ix)).startswith(f"Following <{feed_url}>")
            async with asyncio.timeout(2 * POLL_SECONDS + 10):
                while not fetched:
                    await asyncio.sleep(0.2)
            start = time.monotonic()
            await asyncio.sleep(5 * POLL_SECONDS)
            polls = [t for t in fetched if t > start]
            # Once a poll: about 5 fetches in 5 intervals, a 6th at the edge; a process each would be ~10.
            assert 3 <= len(polls) <= 6, f"{len(polls)} fetches in {5 * POLL_SECONDS:.0f} s"
