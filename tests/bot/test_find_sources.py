"""The "Find sources" message menu end to end: a chat message's text answered as /ask answers it."""

from __future__ import annotations

from fakediscord import FakeDiscord
from harness import ephemeral_reply, final_message, finished, run_command

from bot.app import NewsBot

COAST_GUARD = "They instructed the Japanese coast guard to warn ships"


async def test_the_menu_is_registered_as_a_message_command(bot: NewsBot, fake: FakeDiscord) -> None:
    menus = [c for c in fake.commands() if c["type"] == 3]
    assert [c["name"] for c in menus] == ["Find sources"]


async def test_find_sources_answers_the_message_text_privately(bot: NewsBot, fake: FakeDiscord) -> None:
    said = await fake.message("who warned ships?", author=fake.admin_user)
    ix = await finished(bot, await fake.message_command("Find sources", said))
    assert ix.callback_types == [5] and ix.callbacks[0]["data"]["flags"] == 64  # deferred, ephemeral
    message = final_message(fake, ix)
    assert message["flags"] & 64  # only whoever asked sees it
    (embed,) = message["embeds"]
    assert embed["title"] == "who warned ships?" and COAST_GUARD in embed["description"]

    asked = final_message(fake, await run_command(bot, fake, "ask", {"question": "who warned ships?"}))
    assert asked["embeds"][0]["description"] == embed["description"]  # the same answer as /ask


async def test_find_sources_on_a_message_without_text_says_what_to_do(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    said = await fake.message("   ")
    ix = await fake.message_command("Find sources", said)
    assert "no text to find sources for" in await ephemeral_reply(fake, ix)


async def test_find_sources_on_a_long_message_asks_for_the_part_meant(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    said = await fake.message("ships " * 300)
    ix = await fake.message_command("Find sources", said)
    assert "too long to look up (1,799 characters" in await ephemeral_reply(fake, ix)
