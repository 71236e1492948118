"""Each server its own news, end to end in two guilds: what one server adds only it sees; shared news
(the bundled sample, ingested by the operator) every server sees."""

from __future__ import annotations

import asyncio
import json

import pytest
from fakediscord import FakeDiscord, FakeInteraction, UploadedFile
from harness import embed_text, ephemeral_reply, final_message, run_command

from bot.app import NewsBot

QUESTION = "who chairs the energy committee?"


def in_b(fake: FakeDiscord) -> dict[str, int]:
    """Where guild B's commands are run: its own channel."""
    return {"channel_id": fake.other_channel_id}


async def answer_text(bot: NewsBot, fake: FakeDiscord, command: str, options: dict, **where: int) -> str:
    ix = await run_command(bot, fake, command, options, **where)
    return embed_text(final_message(fake, ix)["embeds"][0])


async def later_reply(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """The text of a private reply sent after the command deferred."""
    await fake.wait_until(lambda: ix.followup_ids)
    return fake.get_message(ix.followup_ids[0])["content"]


@pytest.mark.usefixtures("fetch_locally")
async def test_what_a_server_ingests_is_quoted_there_and_nowhere_else(
    bot: NewsBot, fake: FakeDiscord, news_site: str
) -> None:
    page = f"{news_site}/tidal-pilot.html"
    ix = await run_command(bot, fake, "ingest", {"url": page}, user=fake.admin_user, **in_b(fake))
    assert final_message(fake, ix)["content"].startswith("Added: 1 new")

    assert "Ada Quillfeather" in await answer_text(bot, fake, "ask", {"question": QUESTION}, **in_b(fake))
    assert "Ada Quillfeather" not in await answer_text(bot, fake, "ask", {"question": QUESTION})
    assert "Ada Quillfeather" in await answer_text(bot, fake, "search", {"query": "energy"}, **in_b(fake))
    assert "Ada Quillfeather" not in await answer_text(bot, fake, "search", {"query": "energy committee"})
    await fake.message(f"{fake.bot_mention} {QUESTION}")
    mention = await fake.wait_for(lambda r: r.method == "POST" and r.path.endswith("/messages"))
    assert "Ada Quillfeather" not in json.dumps(mention.json)

    for where, articles in (({}, "1"), (in_b(fake), "2")):
        cover = await run_command(bot, fake, "coverage", **where)
        fields = {f["name"]: f["value"] for f in final_message(fake, cover)["embeds"][0]["fields"]}
        assert fields["Articles"] == articles
    for where, expected in (({}, []), (in_b(fake), ["The Example Gazette"])):
        typed = await fake.autocomplete("ask", {"question": "x", "outlet": "exam"}, focused="outlet", **where)
        await fake.wait_until(lambda t=typed: t.callbacks)
        assert [c["value"] for c in typed.callbacks[0]["data"]["choices"]] == expected
    refused = await fake.slash_command("ask", {"question": QUESTION, "outlet": "The Example Gazette"})
    assert "I have no articles from “The Example Gazette”" in await ephemeral_reply(fake, refused)

    # Shared news is quoted in both servers.
    for where in ({}, in_b(fake)):
        assert "coast guard" in await answer_text(
            bot, fake, "ask", {"question": "who warned ships?"}, **where
        )

    # Only B can forget it; then B no longer quotes it.
    article_id = final_message(fake, ix)["content"].rsplit("(id: ", 1)[1].split(")")[0]
    elsewhere = await fake.slash_command("forget", {"article": page}, user=fake.admin_user)
    refused = await later_reply(fake, elsewhere)  # in Discord words: members have no `newsbot` to run
    assert "no article in server" in refused and "/ingest shows" in refused and "newsbot" not in refused
    forgot = await run_command(
        bot, fake, "forget", {"article": article_id}, user=fake.admin_user, **in_b(fake)
    )
    assert final_message(fake, forgot)["content"].startswith("Forgot “")
    assert "Ada Quillfeather" not in await answer_text(bot, fake, "ask", {"question": QUESTION}, **in_b(fake))


async def test_an_uploaded_file_is_attributed_to_the_server_and_its_outlet_is_a_claim(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    line = {
        "id": "quay",
        "title": "Quay closes for repairs",
        "text": "The old quay will close for repairs on Monday, the port authority said.",
        "source": "Reuters",
        "url": "https://reuters.example/quay",
    }
    upload = UploadedFile("file", "quay.jsonl", "application/json", json.dumps(line).encode())
    await run_command(bot, fake, "ingest", {"file": upload}, user=fake.admin_user, **in_b(fake))
    text = await answer_text(bot, fake, "ask", {"question": "when will the quay close?"}, **in_b(fake))
    assert "uploaded to this server (claims: Reuters)" in text and "reuters.example" not in text


async def test_feeds_are_each_server_s_own(bot: NewsBot, fake: FakeDiscord) -> None:
    admin, url = fake.admin_user, "https://news.example/rss"
    await run_command(bot, fake, "feeds add", {"url": url, "name": "B's"}, user=admin, **in_b(fake))
    listed = await run_command(bot, fake, "feeds list", user=admin)
    assert final_message(fake, listed)["content"].startswith("I follow no feeds yet")
    removed = await fake.slash_command("feeds remove", {"url": url}, user=admin)
    assert "I do not follow that feed" in await later_reply(fake, removed)
    listed = await run_command(bot, fake, "feeds list", user=admin, **in_b(fake))
    assert f"• <{url}> (B's): ok" in final_message(fake, listed)["content"]


async def test_with_guild_ingest_off_only_the_operator_adds_news(start_bot, fake: FakeDiscord) -> None:
    async with start_bot(guild_ingest="off"):
        for command, options in (("ingest", {"url": "https://news.example/a"}), ("feeds list", {})):
            ix = await fake.slash_command(command, options, user=fake.admin_user)
            assert "only its operator adds news (NEWSBOT_GUILD_INGEST=off)" in await ephemeral_reply(fake, ix)


async def test_the_bot_leaves_servers_not_allowed(start_bot, fake: FakeDiscord) -> None:
    async with start_bot(allowed_guilds=[fake.other_guild_id]):
        async with asyncio.timeout(5):
            while fake.guild_id not in fake.left_guilds:
                await asyncio.sleep(0.02)
    assert fake.left_guilds == [fake.guild_id]
