"""Long /ingest jobs: moved to a channel message of the bot's own, which shows progress and the result
even once the interaction's token has expired (shortened here from Discord's 15 minutes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fakediscord import FakeDiscord, UploadedFile
from harness import ephemeral_reply, final_message, finished, hold_ingest, run_command

from bot.app import NewsBot
from bot.checks import JobSlots
from bot.errors import UserError
from index.core.errors import EngineError
from index.engine import Engine
from index.reading.ingest import IngestReport

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web"
TOKEN_LIFETIME = 2.0  # seconds the fake's interaction tokens last in these tests
PAGE_DELAY = 3.0  # seconds each page of the slow site takes: the job outlives the token


@pytest.fixture
async def slow_site() -> AsyncIterator[str]:
    """tests/fixtures/web served on 127.0.0.1, each page after `PAGE_DELAY` seconds; the base URL."""

    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(PAGE_DELAY)
        path = FIXTURES / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(text=path.read_text(encoding="utf-8"), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", page)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
def quick_notice(bot: NewsBot, monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord) -> None:
    """Jobs move to the channel at their first wait and show every step after that; tokens expire
    after `TOKEN_LIFETIME`. Set on the running bot's modules: closing a bot unloads its extensions,
    and the next one imports them anew."""
    monkeypatch.setattr(sys.modules["bot.exts.admin._job"], "NOTICE_AFTER", 0.0)
    monkeypatch.setattr(sys.modules["bot.exts.admin._job"], "UPDATE_EVERY", 0.0)
    fake.token_lifetime = TOKEN_LIFETIME


def job_message(fake: FakeDiscord) -> dict[str, Any]:
    """The one message the bot posted in the channel itself (not through an interaction)."""
    [message] = [m for m in fake.messages_in(fake.channel_id) if m.get("webhook_id") is None]
    assert message["author"]["id"] == str(fake.bot_user.id)
    return message


def shown(fake: FakeDiscord, message: dict[str, Any]) -> list[str]:
    """Every text the message had: as posted, then each edit."""
    path = f"/channels/{fake.channel_id}/messages"
    posted = [r.json["content"] for r in fake.requests_matching("POST", path) if r.status < 400]
    edits = fake.requests_matching("PATCH", f"{path}/{message['id']}")
    return posted + [r.json["content"] for r in edits]


@pytest.mark.usefixtures("fetch_locally", "quick_notice")
async def test_a_long_job_reports_in_its_channel_message_after_the_token_expired(
    bot: NewsBot, fake: FakeDiscord, slow_site: str
) -> None:
    urls = f"{slow_site}/tidal-pilot.html {slow_site}/library-telescopes.html"
    ix = await run_command(bot, fake, "ingest", {"url": urls}, user=fake.admin_user)

    message = job_message(fake)
    by = f"/ingest of 2 web pages by <@{fake.admin_user.id}>"
    texts = shown(fake, message)
    assert texts[0] == f"{by}: fetching 2 web pages…"  # posted while the pages were still loading
    assert f"{by}: adding articles: 0 of 2 done…" in texts
    result = message["content"]
    assert result.startswith(f"{by} is done.\nAdded: 2 new")
    assert "• Port Wren switches on tidal energy pilot" in result
    assert "• Millbrook library lends telescopes to stargazers" in result

    # The private reply pointed at that message; the result could no longer reach it.
    assert message["id"] in final_message(fake, ix)["content"]
    late = [r for r in ix.requests if r.method == "PATCH"][-1]
    assert (late.status, late.response["code"]) == (401, 50027)  # Invalid Webhook Token
    fake.requests.remove(late)  # the one refused request this test expects (the fixture checks the rest)
    assert "The Example Gazette" in (await bot.outlets_in(str(fake.guild_id))).names


@pytest.mark.usefixtures("quick_notice")
async def test_a_big_file_shows_how_many_articles_are_in(
    bot: NewsBot, fake: FakeDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["bot.exts.admin._batches"], "BATCH", 2)
    fake.token_lifetime = None  # about the steps shown, not the token: a loaded machine may pass 2 s
    ingest = engine.ingest

    def slow_ingest(*args: Any, **kwargs: Any) -> IngestReport:  # as a big file's batches take
        time.sleep(0.3)
        return ingest(*args, **kwargs)

    monkeypatch.setattr(engine, "ingest", slow_ingest)
    lines = [
        json.dumps(
            {"id": f"q{n}", "title": f"Quay notice {n}", "text": f"Berth {n} of the quay closes on Monday."}
        )
        for n in range(5)
    ]
    upload = UploadedFile("file", "quay.jsonl", "application/json", "\n".join(lines).encode())
    await run_command(bot, fake, "ingest", {"file": upload}, user=fake.admin_user)

    message = job_message(fake)
    by = f"/ingest of “quay.jsonl” by <@{fake.admin_user.id}>"
    steps = [text.removeprefix(f"{by}: ") for text in shown(fake, message)]
    assert steps[0] == "reading the file…"  # posted while the file was downloading
    assert steps[-3:-1] == ["adding articles: 2 of 5 done…", "adding articles: 4 of 5 done…"]
    assert message["content"].startswith(f"{by} is done.\nAdded: 5 new, 0 updated")
    assert message["content"].count("\n• Quay notice") == 5


@pytest.mark.usefixtures("quick_notice")
async def test_a_job_that_fails_in_the_background_says_why_in_its_channel_message(
    bot: NewsBot, fake: FakeDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def closing(*args: object, **kwargs: object) -> None:
        raise EngineError("newsbot is shutting down: nothing more can be ingested now")

    monkeypatch.setattr(engine, "ingest", closing)
    upload = UploadedFile("file", "quay.txt", "text/plain", b"Quay\n\nThe quay closes on Monday.")
    await run_command(bot, fake, "ingest", {"file": upload}, user=fake.admin_user)
    assert job_message(fake)["content"] == (
        f"/ingest of “quay.txt” by <@{fake.admin_user.id}> failed:\n"
        "newsbot is shutting down: nothing more can be ingested now"
    )


async def test_a_job_running_when_the_bot_closes_says_it_was_stopped(
    start_bot: Any,
    fake: FakeDiscord,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    held = hold_ingest(engine, monkeypatch)
    upload = UploadedFile("file", "quay.txt", "text/plain", b"Quay\n\nThe quay closes on Monday.")
    async with start_bot():
        monkeypatch.setattr(sys.modules["bot.exts.admin._job"], "NOTICE_AFTER", 0.0)
        ix = await fake.slash_command("ingest", {"file": upload}, user=fake.admin_user)
        await asyncio.to_thread(held.writing.acquire, timeout=30)
        # the job has its channel message once the private reply points at it
        await fake.wait_until(lambda: any(r.method == "PATCH" for r in ix.requests))
        held.released.set()  # the batch in hand finishes as the bot closes; the job itself is stopped
    assert job_message(fake)["content"] == (
        f"/ingest of “quay.txt” by <@{fake.admin_user.id}> was stopped: the bot is shutting down. "
        "What it stored before then stays; run it again for the rest (what is stored already is skipped)."
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.records


async def test_a_quick_job_answers_privately_only(bot: NewsBot, fake: FakeDiscord) -> None:
    upload = UploadedFile("file", "quay.txt", "text/plain", b"Quay\n\nThe quay closes on Monday.")
    ix = await run_command(bot, fake, "ingest", {"file": upload}, user=fake.admin_user)
    assert final_message(fake, ix)["content"].startswith("Added: 1 new")
    assert [m for m in fake.messages_in(fake.channel_id) if m.get("webhook_id") is None] == []


async def test_a_server_runs_a_limited_number_of_ingest_jobs_at_once(
    start_bot: Any, fake: FakeDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = hold_ingest(engine, monkeypatch)

    def upload(n: int) -> UploadedFile:
        return UploadedFile("file", f"quay{n}.txt", "text/plain", f"Quay {n}\n\nBerth {n} closes.".encode())

    async with start_bot(ingest_jobs_per_server=1) as bot:
        try:
            first = await fake.slash_command("ingest", {"file": upload(1)}, user=fake.admin_user)
            assert await asyncio.to_thread(held.writing.acquire, timeout=30)
            second = await fake.slash_command("ingest", {"file": upload(2)}, user=fake.admin_user)
            assert await ephemeral_reply(fake, second) == (
                "This server already has 1 /ingest job running, the most it may: "
                "wait until it is done, then try again."
            )
        finally:
            held.released.set()
        await finished(bot, first)
        assert final_message(fake, first)["content"].startswith("Added: 1 new")
        third = await run_command(bot, fake, "ingest", {"file": upload(3)}, user=fake.admin_user)
        assert final_message(fake, third)["content"].startswith("Added: 1 new")  # the slot was freed


def test_job_slots_are_per_server_and_freed_when_a_job_ends() -> None:
    slots = JobSlots(2, "/ingest job")
    full = r"already has 2 /ingest jobs running.*wait until one is done"
    with slots.take(1), slots.take(1), slots.take(2), pytest.raises(UserError, match=full):  # 2: its own
        slots.take(1).__enter__()
    with contextlib.suppress(RuntimeError), slots.take(1):
        raise RuntimeError("a failed job")
    with slots.take(1), slots.take(1):  # every slot was given back
        pass
