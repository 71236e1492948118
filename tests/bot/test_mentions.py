"""Questions by @mention or by replying to the bot: answered as a reply, like /ask."""

from __future__ import annotations

import asyncio

from fakediscord import FakeDiscord, RecordedRequest

from bot.app import NewsBot


async def reply_to(fake: FakeDiscord, message: dict) -> RecordedRequest:
    return await fake.wait_for(
        lambda r: (
            r.method == "POST"
            and r.path == f"/channels/{fake.channel_id}/messages"
            and str((r.json.get("message_reference") or {}).get("message_id")) == message["id"]
        ),
        timeout=30,
    )


async def test_a_mention_is_answered_as_a_reply(bot: NewsBot, fake: FakeDiscord) -> None:
    asked = await fake.message(f"{fake.bot_mention} who warned ships?")
    reply = await reply_to(fake, asked)
    assert reply.status == 200 and reply.response["referenced_message"]["id"] == asked["id"]
    assert reply.json["allowed_mentions"] == {"parse": [], "replied_user": False}  # the asker is not pinged
    embed = reply.json["embeds"][0]
    assert embed["title"] == "who warned ships?"
    assert "**They instructed the Japanese coast guard to warn ships" in embed["description"]
    assert [c["label"] for c in reply.json["components"][0]["components"]] == ["More answers", "Show context"]
    assert fake.requests_matching("POST", rf"/channels/{fake.channel_id}/typing$")


async def test_a_reply_to_the_bot_needs_no_mention(bot: NewsBot, fake: FakeDiscord) -> None:
    first = await reply_to(fake, await fake.message(f"{fake.bot_mention} who warned ships?"))
    follow_up = await fake.message("what did Blinken say?", reference=first.response)
    reply = await reply_to(fake, follow_up)
    assert "Blinken" in reply.json["embeds"][0]["description"]


async def test_messages_not_for_the_bot_are_ignored_and_a_bare_mention_gets_a_hint(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    await fake.message("who warned ships?")
    await fake.message(f"{fake.admin_user.mention} who warned ships?")
    bare = await fake.message(f"{fake.bot_mention}")
    hint = await reply_to(fake, bare)
    assert hint.json["content"].startswith("Ask me a question after the mention")
    await asyncio.sleep(0.2)
    assert len(fake.requests_matching("POST", r"/messages$")) == 1
