"""Buttons sent before a restart still work after it: their state is in their custom ids and in the
engine's store, not in the memory of the bot that sent them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fakediscord import FakeDiscord, FakeInteraction, running_client
from harness import buttons, final_message, message_bodies, press, run_command

from bot.app import NewsBot, create_bot
from bot.exts.ask._views import AnswerButton
from bot.exts.search._views import PageButton
from bot.settings import BotSettings
from bot.views import EXPIRED, OWNERS_ONLY, ButtonState, new_key
from index.engine import Engine
from index.features import saved_questions
from index.search.rerank import CrossEncoderReranker
from index.storage.embed import SentenceTransformerEmbedder

Restart = Callable[..., AbstractAsyncContextManager[NewsBot]]


@pytest.fixture
def data_source(harbour_data: Path) -> Path:
    return harbour_data


@pytest.fixture
def restart(
    bot_settings: BotSettings,
    model: SentenceTransformerEmbedder,
    reranker: CrossEncoderReranker,
    fake: FakeDiscord,
) -> Restart:
    """``async with restart(**settings) as bot``: a new bot with a new engine (the settings changed by
    any given) on the same data dir and fake Discord, and none of the answers an earlier bot of this
    process kept in memory."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[NewsBot]:
        AnswerButton.recent.clear()
        PageButton.recent.clear()
        settings = bot_settings.model_copy(update=overrides)
        engine = Engine(settings, embedder=model, reranker=reranker)
        try:
            async with running_client(create_bot(settings, engine, guild_ready_timeout=0.05), fake) as bot:
                yield bot
        finally:
            engine.close()

    return start


async def answered(fake: FakeDiscord, ix: FakeInteraction) -> FakeInteraction:
    """Until the press was answered: at once, or after a deferral by an edit or a followup."""

    def done() -> bool:
        if not ix.callbacks:
            return False
        return ix.callback_types[0] in (4, 7) or any("/webhooks/" in r.path for r in ix.requests)

    await fake.wait_until(done, timeout=15)
    return ix


async def private_answer(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """What only the presser was told: at once, or in a followup after a deferral."""

    def told() -> dict[str, Any] | None:
        if ix.callbacks and ix.callback_types[0] == 4:
            return dict(ix.callbacks[0]["data"])
        return fake.get_message(ix.followup_ids[0]) if ix.followup_ids else None

    answer = await fake.wait_until(lambda: told() or quotes_sent(ix), timeout=30)
    assert isinstance(answer, dict), "the press was answered with quotes"
    assert answer["flags"] & 64, answer
    return str(answer["content"])


def quotes_sent(ix: FakeInteraction) -> bool:
    """Whether anything the bot sent for this press had an embed (an answer's quotes)."""
    return any(body.get("embeds") for request in ix.requests for body in message_bodies(request))


def footer(message: dict[str, Any]) -> str:
    return message["embeds"][0]["footer"]["text"]


async def test_answer_buttons_work_after_a_restart(start_bot, restart: Restart, fake: FakeDiscord) -> None:
    async with start_bot() as bot:
        ix = await run_command(bot, fake, "ask", {"question": "who warned ships?"})
        message = final_message(fake, ix)
        before = await answered(fake, await press(fake, message, "Show context"))
    context = before.callbacks[0]["data"]["embeds"][0]

    async with restart():
        stranger = await press(fake, message, "Show context", user=fake.admin_user)
        assert await private_answer(fake, stranger) == OWNERS_ONLY  # the asker saved, after a restart

        shown = await answered(fake, await press(fake, message, "Show context"))
        assert shown.callback_types == [5] and shown.callbacks[0]["data"]["flags"] == 64  # computed again
        assert shown.requests[0].time - shown.created < 3.0
        private = fake.get_message(shown.original_id)
        assert private["flags"] & 64 and private["embeds"][0]["description"] == context["description"]

        more = await answered(fake, await press(fake, message, "More answers"))
        assert more.callback_types == [7]  # kept in memory since
        assert footer(fake.get_message(int(message["id"]))).startswith("quotes 3–4 of ")

    async with restart():
        more = await answered(fake, await press(fake, message, "More answers"))
        assert more.callback_types == [6] and more.requests[0].time - more.created < 3.0
        assert footer(fake.get_message(int(message["id"]))).startswith("quotes 5–")


async def test_search_pages_work_after_a_restart(start_bot, restart: Restart, fake: FakeDiscord) -> None:
    async with start_bot() as bot:
        ix = await run_command(bot, fake, "search", {"query": "harbour ferry"})
        message = final_message(fake, ix)
        await answered(fake, await press(fake, message, "Next"))
        page2 = fake.get_message(int(message["id"]))["embeds"][0]
        await answered(fake, await press(fake, message, "Prev"))

    async with restart():
        again = await answered(fake, await press(fake, message, "Next"))
        assert again.callback_types == [6] and again.requests[0].time - again.created < 3.0
        shown = fake.get_message(int(message["id"]))
        assert shown["embeds"][0] == page2
        assert not buttons(shown)["Prev"]["disabled"]

        back = await answered(fake, await press(fake, message, "Prev"))
        assert back.callback_types == [7]
        shown = fake.get_message(int(message["id"]))
        assert (
            shown["embeds"][0]["fields"][0]["name"].startswith("1. ") and buttons(shown)["Prev"]["disabled"]
        )


async def test_buttons_of_a_forgotten_question_say_so(start_bot, restart: Restart, fake: FakeDiscord) -> None:
    async with start_bot() as bot:
        ix = await run_command(bot, fake, "ask", {"question": "who warned ships?"})
    message = final_message(fake, ix)
    async with restart(saved_question_days=0):  # as if asked long ago
        more = await answered(fake, await press(fake, message, "More answers"))
        await fake.wait_until(lambda: more.followup_ids)
    notice = fake.get_message(more.followup_ids[0])
    assert notice["content"] == EXPIRED and notice["flags"] == 64
    assert fake.get_message(int(message["id"]))["embeds"] == message["embeds"]  # the answer stays


async def test_buttons_of_a_question_saved_without_its_asker_answer_their_owner_only(
    start_bot, restart: Restart, engine: Engine, fake: FakeDiscord
) -> None:
    async with start_bot() as bot:
        message = final_message(fake, await run_command(bot, fake, "ask", {"question": "who warned ships?"}))
    with engine.store.transaction():  # saved before askers were: the owner is the one its buttons name
        engine.store.db.execute(f"UPDATE {saved_questions.TABLE} SET asker = NULL")
    async with restart():
        stranger = await press(fake, message, "Show context", user=fake.admin_user)
        assert await private_answer(fake, stranger) == OWNERS_ONLY
        shown = await answered(fake, await press(fake, message, "Show context"))
        await fake.wait_until(lambda: fake.get_message(shown.original_id)["embeds"])


@pytest.mark.parametrize(("kind", "action"), [(AnswerButton, "context"), (PageButton, "next")])
def test_the_largest_state_fits_a_custom_id(kind: Any, action: str) -> None:
    button = kind(action, ButtonState(new_key(), 9999, 2**64 - 1))
    assert len(button.custom_id) <= 100 and button.template.fullmatch(button.custom_id)
