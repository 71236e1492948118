"""How many questions the bot takes: a bounded queue for the engine, a budget per server beside the one
per user, and cooldown notices by @mention told once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from discord import app_commands
from fakediscord import FakeDiscord, FakeInteraction, UploadedFile
from harness import ephemeral_reply, final_message, finished, hold_ingest, run_command

from bot.checks import BUSY, Busy, EngineQueue, QuestionLimits, ServerCooldown
from bot.settings import BotSettings
from index.engine import Engine

QUESTION = {"question": "who warned ships?"}


@pytest.fixture
def held_engine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The engine's questions wait until the returned event is set, so that its queue really fills."""
    released = threading.Event()
    real_ask = engine.ask

    def held_ask(*args: Any) -> Any:
        released.wait(timeout=30)
        return real_ask(*args)

    monkeypatch.setattr(engine, "ask", held_ask)
    yield released
    released.set()  # never leave an engine thread blocked behind a failed test


def told_busy(fake: FakeDiscord, ix: FakeInteraction) -> bool:
    """Whether the user was told privately that the bot is busy: as the first answer, or (when the
    queue filled after the command deferred) as a private followup."""
    replies = [cb["data"] for cb in ix.callbacks if cb["type"] == 4]
    replies += [fake.get_message(message_id) for message_id in ix.followup_ids]
    return any(r.get("content") == BUSY and r.get("flags") == 64 for r in replies)


# -- the limits on their own ---------------------------------------------------------------------


def test_the_queue_holds_its_limit_and_counts_a_question_once() -> None:
    queue = EngineQueue(2)
    leave_first = queue.join()
    queue.join()
    with pytest.raises(Busy):
        queue.join()
    leave_first()
    leave_first()  # taken by a thread, then finished: it left once
    queue.join()
    assert queue.full
    with pytest.raises(Busy):
        queue.join()


def test_a_refused_question_spends_no_budget() -> None:
    limits = QuestionLimits(BotSettings(_env_file=None, cooldown_rate=2, guild_rate=1, queue_limit=1))
    limits.admit(1, guild_id=10)
    with pytest.raises(ServerCooldown, match=r"may this minute \(1\): try again in"):
        limits.admit(1, guild_id=10)
    limits.admit(1, guild_id=20)  # the refusal in server 10 did not spend user 1's second question
    with pytest.raises(app_commands.CommandOnCooldown):
        limits.admit(1, guild_id=None)
    leave = limits.queue.join()
    with pytest.raises(Busy):
        limits.admit(2, guild_id=30)
    leave()
    limits.admit(2, guild_id=30)  # nothing was spent while the bot was busy


# -- end to end ------------------------------------------------------------------------------------


async def test_a_burst_beyond_the_queue_is_told_busy_at_once(
    start_bot: Callable[..., Any], fake: FakeDiscord, held_engine: threading.Event
) -> None:
    readers = [fake.add_user(f"reader{n}") for n in range(8)]
    async with start_bot(workers=1, queue_limit=2) as bot:
        try:
            burst = await asyncio.gather(*(fake.slash_command("ask", QUESTION, user=u) for u in readers))
            # One question on the engine thread and two waiting: at least five are refused, within 3 s.
            await fake.wait_until(lambda: sum(told_busy(fake, ix) for ix in burst) >= 5, timeout=30)
            await asyncio.sleep(1)  # every question is now refused or waiting for the engine
            busy = [ix for ix in burst if told_busy(fake, ix)]
            admitted = [ix for ix in burst if ix not in busy]
            assert 1 <= len(admitted) <= 3, [ix.callback_types for ix in burst]
            waited = [round(ix.requests[-1].time - ix.created, 2) for ix in busy]
            assert max(waited) < 3, waited  # told, not left thinking
            assert all(ix.callbacks and ix.requests[0].time - ix.created < 3 for ix in burst)  # acknowledged
            public = {m["id"] for m in fake.messages_in(fake.channel_id)}
            assert all(str(ix.original_id) not in public for ix in busy if ix.original_id is not None)
            assert all(ix.callback_types == [5] and not ix.followup_ids for ix in admitted)
        finally:
            held_engine.set()
        for ix in admitted:
            await finished(bot, ix, timeout=30)
            assert "coast guard" in final_message(fake, ix)["embeds"][0]["description"]
        after = await run_command(bot, fake, "ask", QUESTION, user=readers[0])  # no slot was lost
        assert "coast guard" in final_message(fake, after)["embeds"][0]["description"]


async def test_a_busy_bot_answers_a_mention_at_once(start_bot: Callable[..., Any], fake: FakeDiscord) -> None:
    async with start_bot(workers=1, queue_limit=1) as bot:
        bot.limits.queue.join()  # the one waiting place is taken
        asked = await fake.message(f"{fake.bot_mention} who warned ships?")
        reply = await fake.wait_for_request("POST", rf"/channels/{fake.channel_id}/messages$", timeout=30)
        assert reply.json["content"] == BUSY
        assert str(reply.json["message_reference"]["message_id"]) == asked["id"]


async def test_each_server_has_a_question_budget(start_bot: Callable[..., Any], fake: FakeDiscord) -> None:
    readers = [fake.add_user(f"reader{n}") for n in range(3)]
    async with start_bot(guild_rate=2) as bot:
        for user in readers[:2]:
            answered = await run_command(bot, fake, "ask", QUESTION, user=user)
            assert answered.callback_types == [5]
        refused = await fake.slash_command("search", {"query": "ships"}, user=readers[2])
        text = await ephemeral_reply(fake, refused)
        assert text.startswith("This server has asked all the questions it may this minute (2): try again in")
        elsewhere = await run_command(
            bot, fake, "ask", QUESTION, user=readers[2], channel_id=fake.other_channel_id
        )
        assert "coast guard" in final_message(fake, elsewhere)["embeds"][0]["description"]


def bot_posts(fake: FakeDiscord) -> list[dict[str, Any]]:
    """What the bot posted in the channel (its replies to mentions), oldest first."""
    return [r.json for r in fake.requests_matching("POST", rf"/channels/{fake.channel_id}/messages$")]


async def test_repeated_mentions_during_a_cooldown_get_one_notice(
    start_bot: Callable[..., Any], fake: FakeDiscord
) -> None:
    def answers() -> int:
        return sum(bool(post.get("embeds")) for post in bot_posts(fake))

    async with start_bot(cooldown_rate=1, cooldown_seconds=60):
        for author in (fake.member_user, fake.add_user("carol")):  # each user is told once
            await fake.message(f"{fake.bot_mention} who warned ships?", author=author)
            for _ in range(4):
                await fake.message(f"{fake.bot_mention} what did Blinken say?", author=author)
        await fake.wait_until(lambda: answers() == 2 and len(bot_posts(fake)) >= 4, timeout=15)
        await asyncio.sleep(0.5)  # time for any further notice to arrive
        notices = [post["content"] for post in bot_posts(fake) if not post.get("embeds")]
        assert len(notices) == 2 and all(n.startswith("Easy there: you can ask again in") for n in notices)


async def test_questions_keep_their_threads_while_ingest_jobs_wait_to_write(
    start_bot: Callable[..., Any], fake: FakeDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admin work has threads of its own: as many /ingest jobs as there are question threads, all stuck
    writing, leave every question thread free."""
    held = hold_ingest(engine, monkeypatch)
    jobs = 4
    async with start_bot(workers=jobs, ingest_jobs_per_server=jobs) as bot:
        try:
            started = [
                await fake.slash_command("ingest", {"file": upload(n)}, user=fake.admin_user)
                for n in range(jobs)
            ]
            await fake.wait_until(lambda: all(ix.callbacks for ix in started))
            assert await asyncio.to_thread(held.writing.acquire, timeout=30)  # one job is writing, held
            asked = await finished(bot, await fake.slash_command("ask", QUESTION), timeout=30)
            assert not told_busy(fake, asked)
            assert "coast guard" in final_message(fake, asked)["embeds"][0]["description"]
        finally:
            held.released.set()
        for ix in started:
            await finished(bot, ix, timeout=60)
            assert final_message(fake, ix)["content"].startswith("Added: 1 new")


def upload(n: int) -> UploadedFile:
    return UploadedFile(
        "file", f"quay{n}.txt", "text/plain", f"Quay {n}\n\nBerth {n} closes on Monday.".encode()
    )
