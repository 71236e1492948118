"""Follow-ups without a mention: only a reply to one of the bot's answers is a question for it."""

from __future__ import annotations

import asyncio

from fakediscord import FakeDiscord
from test_mentions import reply_to

from bot.app import NewsBot
from bot.exts.mention._question import HOW_TO_ASK, mentions


def bot_posts(fake: FakeDiscord) -> int:
    return len(fake.requests_matching("POST", rf"/channels/{fake.channel_id}/messages$"))


def test_only_a_written_mention_counts() -> None:
    assert mentions("<@42> who warned ships?", {42}) and mentions("hi <@!42>", {42, 7})
    assert mentions("<@&7> who?", {42, 7})
    assert not mentions("<@43> who warned ships?", {42}) and not mentions("who warned ships?", {42})


async def test_a_reply_to_someone_elses_message_is_ignored(bot: NewsBot, fake: FakeDiscord) -> None:
    theirs = await fake.message("who warned ships?", author=fake.admin_user)
    await fake.message("what did Blinken say?", reference=theirs)
    await asyncio.sleep(0.5)
    assert bot_posts(fake) == 0


async def test_a_reply_to_the_bots_answer_is_answered_and_one_to_its_notice_is_not(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    hint = await reply_to(fake, await fake.message(fake.bot_mention))
    assert hint.json["content"] == HOW_TO_ASK
    # The reply lists the bot among its mentions (Discord's reply ping), yet it does not ask the bot.
    await fake.message("who warned ships?", reference=hint.response)
    await asyncio.sleep(0.5)
    assert bot_posts(fake) == 1

    answer = await reply_to(fake, await fake.message(f"{fake.bot_mention} who warned ships?"))
    follow_up = await fake.message("what did Blinken say?", reference=answer.response)
    reply = await reply_to(fake, follow_up)
    assert "Blinken" in reply.json["embeds"][0]["description"]
    # Replying to someone else's message while mentioning the bot still asks it.
    theirs = await fake.message("interesting", author=fake.admin_user)
    asked = await fake.message(f"{fake.bot_mention} who warned ships?", reference=theirs)
    assert (await reply_to(fake, asked)).json["embeds"]
