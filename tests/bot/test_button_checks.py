"""Button presses from hostile clients: a client can send any custom id, with any message, from any
server (`FakeDiscord.forged_click`), and gets none of the quotes it names that are not its own, nor a
question answered again beyond its limits."""

from __future__ import annotations

import asyncio
import copy
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakediscord import FakeDiscord
from harness import buttons, final_message, press, run_command
from test_persistent_buttons import private_answer, quotes_sent

from bot.app import NewsBot
from bot.checks import BUSY
from bot.views import EXPIRED, OWNERS_ONLY
from index.engine import Engine
from index.features.feedback import Feedback

QUESTION = {"question": "who warned ships?"}


@pytest.fixture
def data_source(harbour_data: Path) -> Path:
    return harbour_data  # enough quotes for a second page


def custom_id(message: dict[str, Any], label: str) -> str:
    return str(buttons(message)[label]["custom_id"])


def tampered(message: dict[str, Any], label: str, new_id: str, **changes: Any) -> dict[str, Any]:
    """A copy of ``message`` whose button ``label`` carries ``new_id``, as a hostile client sends it."""
    forged = copy.deepcopy(message) | changes
    buttons(forged)[label]["custom_id"] = new_id
    return forged


async def asked(bot: NewsBot, fake: FakeDiscord) -> dict[str, Any]:
    """alice's /ask in the first server, with its buttons."""
    return final_message(fake, await run_command(bot, fake, "ask", QUESTION))


def forget(cached: bool) -> None:
    """Unless ``cached``, the press misses the buttons' memory, as after a restart. (Each bot loads its
    extensions afresh, so the buttons are those of the module loaded now.)"""
    if not cached:
        importlib.import_module("bot.exts.ask._views").AnswerButton.recent.clear()


@pytest.mark.parametrize("cached", [True, False], ids=["cache hit", "cache miss"])
@pytest.mark.parametrize("label", ["Show context", "👍 1"])
async def test_a_press_from_another_server_gets_none_of_its_quotes(
    start_bot: Callable[..., Any], engine: Engine, fake: FakeDiscord, label: str, cached: bool
) -> None:
    async with start_bot() as bot:
        message = await asked(bot, fake)
        forget(cached)
        # alice, a member of both servers, sends server A's button from server B
        ix = await fake.forged_click(message, custom_id(message, label), channel_id=fake.other_channel_id)
        assert await private_answer(fake, ix) == EXPIRED
    assert not quotes_sent(ix) and not Feedback(engine.store).votes()
    assert fake.get_message(int(message["id"]))["embeds"] == message["embeds"]


@pytest.mark.parametrize("cached", [True, False], ids=["cache hit", "cache miss"])
async def test_an_owners_button_is_refused_to_whoever_the_custom_id_names(
    start_bot: Callable[..., Any], fake: FakeDiscord, cached: bool
) -> None:
    mallory = fake.add_user("mallory")
    async with start_bot() as bot:
        message = await asked(bot, fake)
        forget(cached)
        mine = custom_id(message, "Show context").rsplit(":", 1)[0] + f":{mallory.id}"
        ix = await fake.forged_click(tampered(message, "Show context", mine), mine, user=mallory)
        assert await private_answer(fake, ix) == OWNERS_ONLY
    assert not quotes_sent(ix)


async def test_a_custom_id_on_no_message_of_the_bot_is_refused(
    start_bot: Callable[..., Any], fake: FakeDiscord
) -> None:
    mallory = fake.add_user("mallory")
    async with start_bot() as bot:
        message = await asked(bot, fake)
        mine = custom_id(message, "Show context").rsplit(":", 1)[0] + f":{mallory.id}"
        # on a message mallory "posted" herself, naming herself as owner of alice's answer
        posted = tampered(message, "Show context", mine, author=mallory.to_payload())
        ix = await fake.forged_click(posted, mine, user=mallory)
        assert await private_answer(fake, ix) == EXPIRED

        # on the bot's message, but not among its buttons: nothing happens (discord.py drops it)
        dropped = await fake.forged_click(message, mine, user=mallory)
        await asyncio.sleep(1)
    assert not quotes_sent(ix) and not dropped.requests


@pytest.mark.parametrize("limited", ["user", "server", "queue"])
async def test_answering_again_after_a_restart_keeps_to_the_question_limits(
    start_bot: Callable[..., Any], fake: FakeDiscord, limited: str
) -> None:
    limits: dict[str, Any] = {"user": {"cooldown_rate": 1}, "server": {"guild_rate": 1}}.get(
        limited, {"queue_limit": 1}
    )
    async with start_bot(**limits) as bot:
        message = await asked(bot, fake)  # alice's one question this minute, if that is her limit
        forget(cached=False)
        if limited == "queue":
            bot.limits.queue.join()  # the one waiting place is taken
        ix = await press(fake, message, "More answers")
        told = await private_answer(fake, ix)
    expected = {"user": "Easy there", "server": "This server has asked all", "queue": BUSY}[limited]
    assert told.startswith(expected)
    assert not quotes_sent(ix)
    assert fake.get_message(int(message["id"]))["embeds"] == message["embeds"]
