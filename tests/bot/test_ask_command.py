"""/ask end to end: the real bot and model against FakeDiscord."""

from __future__ import annotations

import re

from fakediscord import FakeDiscord
from harness import (
    embed_text,
    ephemeral_reply,
    final_message,
    finished,
    press,
    run_command,
)

from bot.app import NewsBot

COAST_GUARD = "They instructed the Japanese coast guard to warn ships"
MINISTRY = "The launch was also detected by Japan's Prime Minister's Office and Defense Ministry."


async def test_ask_is_deferred_at_once_then_quotes_the_coast_guard(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(bot, fake, "ask", {"question": "who warned ships?"})
    defer, *_, edit = ix.requests
    assert ix.callback_types == [5] and defer.status == 200
    assert defer.time - ix.created < 3.0
    assert edit.method == "PATCH" and edit.path.endswith("/messages/@original")

    message = final_message(fake, ix)
    embed = message["embeds"][0]
    assert embed["title"] == "who warned ships?"
    assert f"> {MINISTRY} **{COAST_GUARD} within the country on falling debris.**" in embed["description"]
    assert re.fullmatch(r"confidence: (high|medium) · quotes 1–2 of \d+", embed["footer"]["text"])
    assert [b["label"] for b in message["components"][0]["components"]] == ["More answers", "Show context"]
    assert message["flags"] & 64 == 0  # the answer is public


async def test_answer_buttons_page_show_context_and_belong_to_the_asker(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    ix = await run_command(bot, fake, "ask", {"question": "who warned ships?"})
    message = final_message(fake, ix)

    more = await press(fake, message, "More answers")
    await fake.wait_until(lambda: more.callbacks)
    assert more.callback_types == [7]
    assert more.callbacks[0]["data"]["embeds"][0]["footer"]["text"].startswith("quotes 3–4 of ")

    context = await press(fake, message, "Show context")
    await fake.wait_until(lambda: context.callbacks)
    shown = context.callbacks[0]["data"]
    assert context.callback_types == [4] and shown["flags"] == 64
    assert "**" in shown["embeds"][0]["description"]

    stranger = await press(fake, message, "More answers", user=fake.admin_user)
    assert "belong to whoever asked" in await ephemeral_reply(fake, stranger)


async def test_ask_refuses_plainly_and_suggests_search(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(bot, fake, "ask", {"question": "what is the capital of France?"})
    embed = final_message(fake, ix)["embeds"][0]
    assert embed["description"].startswith("The news I have doesn't say.")
    assert "**/search**" in embed["description"]
    assert "query: what is the capital of France?" in embed["description"]
    assert embed["footer"]["text"].startswith("confidence: low")


async def test_a_too_long_question_is_answered_privately(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await fake.slash_command("ask", {"question": "why " * 300})
    await fake.wait_until(lambda: ix.followup_ids)
    followup = fake.get_message(ix.followup_ids[0])
    assert followup["flags"] == 64 and "keep it under 1000" in followup["content"]
    assert ix.original_id not in {m["id"] for m in fake.messages_in(fake.channel_id)}  # "thinking…" removed


async def test_each_user_has_a_question_budget(start_bot, fake: FakeDiscord) -> None:
    async with start_bot(cooldown_rate=1, cooldown_seconds=60) as bot:
        await run_command(bot, fake, "ask", {"question": "who warned ships?"})
        again = await fake.slash_command("search", {"query": "ships"})
        assert "Easy there: you can ask again in" in await ephemeral_reply(fake, again)
        other = await fake.slash_command("ask", {"question": "who warned ships?"}, user=fake.admin_user)
        await finished(bot, other)
        assert other.callback_types == [5]


async def test_answering_processes_quote_what_the_bot_itself_would(start_bot, fake: FakeDiscord) -> None:
    async with start_bot(answer_processes=2) as bot:
        assert bot.questions is bot.processes is not None
        ix = await run_command(bot, fake, "ask", {"question": "who warned ships?"})
        embed = final_message(fake, ix)["embeds"][0]
        assert f"**{COAST_GUARD} within the country on falling debris.**" in embed["description"]
        search = await run_command(bot, fake, "search", {"query": "coast guard debris"})
        assert COAST_GUARD in embed_text(final_message(fake, search)["embeds"][0])
