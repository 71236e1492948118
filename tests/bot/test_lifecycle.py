"""Start-up, command sync, shut-down, load and failure handling of the real bot."""

from __future__ import annotations

import asyncio
import logging
import runpy
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fakediscord import FakeDiscord
from harness import TOKEN, final_message, finished, run_command

from bot import app
from bot.app import COMMANDS_HASH_KEY, NewsBot, ShardedNewsBot
from bot.cli import main
from bot.errors import UNEXPECTED
from bot.exts import EXTENSIONS
from bot.settings import BotSettings
from index.core.errors import EngineError
from index.engine import Engine
from index.storage.locks import FileLocks

COMMANDS = ["admin", "ask", "coverage", "mention", "search", "sources", "trend", "watch"]


def command_syncs(fake: FakeDiscord) -> list[str]:
    return [r.path for r in fake.requests_matching("PUT", r"/commands$")]


async def test_commands_are_synced_once_and_not_again_on_restart(
    start_bot, fake: FakeDiscord, engine: Engine
) -> None:
    assert tuple(f"bot.exts.{name}" for name in COMMANDS) == EXTENSIONS
    async with start_bot() as bot:
        assert command_syncs(fake) == [f"/applications/{fake.application_id}/commands"]
        assert {c["name"] for c in fake.commands()} == {
            "ask",
            "search",
            "coverage",
            "ingest",
            "feeds",
            "forget",
            "trend",
            "watch",
            "Find sources",
        }
        assert engine.store.get_setting(COMMANDS_HASH_KEY) == bot.commands_hash(None)
    async with start_bot() as bot:
        assert len(command_syncs(fake)) == 1  # same command set: no sync
        await run_command(bot, fake, "coverage")  # the commands registered earlier still work
    async with start_bot(guild_id=fake.guild_id):
        assert command_syncs(fake)[1:] == [
            f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"
        ]
    async with start_bot(sync_on_start=False, guild_id=None):
        assert len(command_syncs(fake)) == 2


async def test_newsbot_sync_registers_over_rest_only(
    bot_settings: BotSettings, engine: Engine, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = bot_settings.model_copy(
        update={"discord_api_url": fake.api_url, "discord_gateway_url": fake.gateway_url}
    )
    synced = await app.sync(settings)
    assert sorted(c.name for c in synced) == [
        "Find sources",
        "ask",
        "coverage",
        "feeds",
        "forget",
        "ingest",
        "search",
        "trend",
        "watch",
    ]
    assert command_syncs(fake) == [f"/applications/{fake.application_id}/commands"]
    assert fake.identifies == []  # no gateway connection
    assert engine.store.get_setting(COMMANDS_HASH_KEY)
    await app.sync(settings)  # forced: syncs even though nothing changed
    assert len(command_syncs(fake)) == 2
    assert TOKEN not in caplog.text


async def test_the_token_never_reaches_the_logs(
    start_bot, fake: FakeDiscord, bot_settings: BotSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with start_bot() as bot:
        await run_command(bot, fake, "ask", {"question": "who warned ships?"})
        await fake.message(f"{fake.bot_mention} who warned ships?")
        await fake.wait_for(lambda r: r.method == "POST" and r.path.endswith("/messages"))
        logging.getLogger("test").info("settings: %r / %s", bot_settings, bot_settings)
    assert "IDENTIFY" in caplog.text and "who warned ships?" in caplog.text  # the logs were captured
    assert TOKEN not in caplog.text and TOKEN.split(".")[1] not in caplog.text


async def test_twenty_questions_at_once_keep_the_heartbeat(
    bot: NewsBot, fake: FakeDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine runs on the bot's threads: while 20 questions keep them busy for seconds, holding the
    engine's lock as the real work does, the event loop still acknowledges every interaction at once and
    answers every heartbeat on time (it would stall if anything on it waited for that lock)."""
    real_first_stage = engine.questions.first_stage
    work = 0.25

    def slow_first_stage(*args: Any) -> Any:  # as on a large index: a quarter second under the lock
        with engine.parts.lock:
            time.sleep(work)
            return real_first_stage(*args)

    monkeypatch.setattr(engine.questions, "first_stage", slow_first_stage)
    users = [fake.add_user(f"reader{n}") for n in range(20)]
    questions = ["who warned ships?", "what did Blinken say?", "where were the missiles fired from?"]
    acks_before = fake.heartbeat_acks
    started = time.monotonic()
    interactions = await asyncio.gather(
        *(
            fake.slash_command("ask", {"question": questions[n % 3]}, user=user)
            for n, user in enumerate(users)
        )
    )
    await asyncio.gather(*(finished(bot, ix, timeout=60) for ix in interactions))
    busy = time.monotonic() - started

    assert busy >= 20 * work  # the questions really queued for the engine's lock, one at a time
    assert all(ix.callback_types == [5] and ix.requests[0].time - ix.created < 1.0 for ix in interactions)
    assert all(
        "coast guard" in final_message(fake, ix)["embeds"][0]["description"] for ix in interactions[::3]
    )
    beats = [t for t in fake.heartbeat_times if started <= t <= started + busy]
    gaps = [later - earlier for earlier, later in zip(beats, beats[1:], strict=False)]
    # one every 0.5 s (the window's two ends may each cut one off), none stalled
    assert len(beats) >= busy / 0.5 - 2 and max(gaps) < 0.8, gaps
    assert fake.heartbeat_acks - acks_before >= len(beats)


async def test_a_broken_extension_is_logged_and_the_rest_still_load(
    start_bot, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app, "EXTENSIONS", ("bot.exts.missing", *EXTENSIONS))
    async with start_bot() as bot:
        assert "could not load extension bot.exts.missing" in caplog.text
        assert set(bot.cogs) == {
            "Admin",
            "Ask",
            "Coverage",
            "Mention",
            "Search",
            "Sources",
            "TrendChart",
            "Watching",
        }


async def test_a_bug_is_logged_with_its_traceback_and_answered_privately(
    bot: NewsBot,
    fake: FakeDiscord,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("index on fire")

    monkeypatch.setattr(engine, "stats", broken)
    ix = await fake.slash_command("coverage")
    await fake.wait_until(lambda: ix.followup_ids)
    followup = fake.get_message(ix.followup_ids[0])
    assert followup["content"] == UNEXPECTED and followup["flags"] == 64
    assert fake.requests_matching("DELETE", r"/messages/@original$")  # the public "thinking…" is gone
    assert "error in /coverage" in caplog.text and "RuntimeError: index on fire" in caplog.text
    assert "Traceback" in caplog.text


async def test_autosharded_bot(start_bot, fake: FakeDiscord) -> None:
    async with start_bot(autoshard=True) as bot:
        assert isinstance(bot, ShardedNewsBot) and bot.shard_count == 1
        assert fake.requests_matching("GET", r"/gateway/bot$")
        assert fake.identifies[0]["shard"] == [0, 1]
        ix = await run_command(bot, fake, "ask", {"question": "who warned ships?"})
        assert "coast guard" in final_message(fake, ix)["embeds"][0]["description"]


def test_serve_without_a_token_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("NEWSBOT_DISCORD_TOKEN", raising=False)
    assert main(["serve", "--data-dir", str(tmp_path / "data")]) == 1
    assert capsys.readouterr().err.startswith("newsbot: no Discord bot token: set DISCORD_TOKEN")

    monkeypatch.setattr(sys, "argv", ["python -m bot"])  # no arguments: serve
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("bot", run_name="__main__")
    assert exited.value.code == 1 and "no Discord bot token" in capsys.readouterr().err


def test_serve_holds_the_serving_lock_while_the_bot_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`newsbot reindex` refuses while the bot runs (`Engine.serving`), and not once it has stopped."""
    settings = BotSettings(_env_file=None, data_dir=tmp_path / "data", model="hash", discord_token=TOKEN)
    reindex = FileLocks(settings.data_dir)  # as `newsbot reindex` beside it checks
    ran: list[str] = []

    def run(bot: NewsBot, token: str, **options: Any) -> None:
        with pytest.raises(EngineError, match="stop it before reindexing"):
            reindex.refuse_while_serving("reindexing")
        ran.append(token)
        bot.engine.close()  # as stopping the bot does

    monkeypatch.setattr(NewsBot, "run", run)
    app.run(settings)
    assert ran == [TOKEN]
    reindex.refuse_while_serving("reindexing")


async def test_shutdown_waits_for_a_feed_ingest_before_closing_the_store(tmp_path: Path) -> None:
    """A feed poll ingests on a thread of its own, not the question workers': closing must wait for it."""
    import threading

    from index.core.models import ArticleIn
    from index.storage.embed import HashEmbedder

    class GatedEmbedder(HashEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.embedding, self.release = threading.Event(), threading.Event()

        def encode(self, texts: Any) -> Any:
            self.embedding.set()
            assert self.release.wait(10)
            return super().encode(texts)

    settings = BotSettings(_env_file=None, data_dir=tmp_path / "data", model="hash", rerank=False)
    bot = NewsBot(settings)  # it owns its engine, so closing the bot closes the store
    gate = bot.engine.embedder = GatedEmbedder()
    story = ArticleIn(title="Quay", text="The quay closed on Monday. Boats moved.", url="https://x.example/q")
    ingest = asyncio.ensure_future(asyncio.to_thread(bot.engine.ingest, [story]))  # as poll_feeds runs it
    assert await asyncio.to_thread(gate.embedding.wait, 10)
    closing = asyncio.ensure_future(bot.close())
    await asyncio.sleep(0.3)
    assert not closing.done()  # the store is still open under the ingest
    gate.release.set()
    assert (await ingest).new == 1
    await closing
    reopened = Engine(settings)
    assert reopened.store.count("articles") == 1
    reopened.close()
