"""/ingest and /feeds end to end: who may use them, files and URLs, and article text that tries to ping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakediscord import FakeDiscord, FakeInteraction, UploadedFile
from harness import embed_text, ephemeral_reply, final_message, run_command

from bot.app import NewsBot
from bot.errors import UNAVAILABLE
from bot.exts.admin._uploads import read_upload
from index.engine import Engine
from index.storage import locks

PINGING_ARTICLE = """Harbour alert for @everyone

Officials told @everyone and @here to leave the quay before the storm surge on Friday.
The harbour master, <@123> in the council's notes, said **nobody** should stay near the pier.
"""


def upload(name: str, text: str) -> UploadedFile:
    return UploadedFile("file", name, "text/plain", text.encode())


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("ingest", {"url": "https://news.example/a"}),
        ("feeds list", {}),
        ("feeds add", {"url": "https://x.example/rss"}),
    ],
)
async def test_members_without_manage_server_are_refused_privately(
    bot: NewsBot, fake: FakeDiscord, command: str, options: dict[str, str]
) -> None:
    ix = await fake.slash_command(command, options, user=fake.member_user)
    assert "Manage Server permission" in await ephemeral_reply(fake, ix)


async def test_admin_commands_are_hidden_from_members_by_default(bot: NewsBot, fake: FakeDiscord) -> None:
    registered = {c["name"]: c for c in fake.commands()}
    assert registered["ingest"]["default_member_permissions"] == "32"  # Manage Server
    assert registered["feeds"]["default_member_permissions"] == "32"
    assert registered["ask"]["default_member_permissions"] is None


async def test_admin_ingests_an_attached_file_then_it_can_be_asked_about(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    text = (
        "Quay closes for repairs\n\nThe old quay will close for repairs on Monday, the port authority said."
    )
    ix = await run_command(bot, fake, "ingest", {"file": upload("quay.txt", text)}, user=fake.admin_user)
    assert ix.callbacks[0] == {"type": 5, "data": {"flags": 64}}  # private "thinking…"
    reply = final_message(fake, ix)["content"]
    assert reply.startswith("Added: 1 new") and "• Quay closes for repairs" in reply

    asked = await run_command(bot, fake, "ask", {"question": "when will the quay close?"})
    assert "on Monday, the port authority said" in final_message(fake, asked)["embeds"][0]["description"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("photo.png", "x", "I can read .htm, .html, .json, .jsonl, .md, .txt files, not “.png”"),
        ("huge.txt", "x" * 2000, "the limit is 0.0 MB"),
    ],
)
async def test_unusable_uploads_are_refused_before_downloading(
    start_bot, fake: FakeDiscord, name: str, text: str, expected: str
) -> None:
    async with start_bot(fetch_max_bytes=1000):
        ix = await fake.slash_command("ingest", {"file": upload(name, text)}, user=fake.admin_user)
        assert expected in await ephemeral_reply(fake, ix)


async def test_a_file_with_problems_says_what_is_wrong(bot: NewsBot, fake: FakeDiscord) -> None:
    broken = '{"id": "a", "title": "Quay", "text": "The quay closed."}\n{broken\n'
    ix = await run_command(bot, fake, "ingest", {"file": upload("batch.jsonl", broken)}, user=fake.admin_user)
    reply = final_message(fake, ix)["content"]
    assert reply.startswith("Added: 1 new") and "Problems:\n• batch.jsonl:2: " in reply
    assert "newsbot-upload" not in reply  # the temporary copy's path is not shown


async def test_admin_ingests_a_url_through_the_guarded_fetcher(
    bot: NewsBot, fake: FakeDiscord, engine: Engine, news_site: str, request: pytest.FixtureRequest
) -> None:
    web_page = f"{news_site}/tidal-pilot.html"
    refused = await run_command(bot, fake, "ingest", {"url": web_page}, user=fake.admin_user)
    reply = final_message(fake, refused)["content"]
    assert reply.startswith("Nothing added") and "loopback address" in reply  # not fetched by default

    request.getfixturevalue("fetch_locally")
    ix = await run_command(bot, fake, "ingest", {"url": web_page}, user=fake.admin_user)
    assert final_message(fake, ix)["content"].startswith("Added: 1 new")
    guild = str(fake.guild_id)
    assert "The Example Gazette" in (await bot.outlets_in(guild)).names  # autocomplete knows it at once

    asked = await run_command(
        bot, fake, "ask", {"question": "who chairs the energy committee?", "outlet": "the example gazette"}
    )
    embed = final_message(fake, asked)["embeds"][0]
    assert "Ada Quillfeather" in embed["description"] and "The Example Gazette" in embed["description"]


@pytest.mark.usefixtures("fetch_locally")
async def test_one_ingest_takes_several_urls(bot: NewsBot, fake: FakeDiscord, news_site: str) -> None:
    tidal, library = f"{news_site}/tidal-pilot.html", f"{news_site}/library-telescopes.html"
    ix = await run_command(bot, fake, "ingest", {"url": f"{tidal}  {library} {tidal}"}, user=fake.admin_user)
    reply = final_message(fake, ix)["content"]
    assert reply.startswith("Added: 2 new, 0 updated, 0 skipped")  # the repeated address is taken once
    assert "• Port Wren switches on tidal energy pilot" in reply and "• Millbrook library lends" in reply


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://a.example/x www.b.example/y",
            "must start with http:// or https://; “www.b.example/y” does not",
        ),
        (" ".join(f"https://a.example/{n}" for n in range(51)), "That is 51 addresses; give me at most 50"),
    ],
)
async def test_unusable_url_lists_are_refused_before_fetching(
    bot: NewsBot, fake: FakeDiscord, url: str, expected: str
) -> None:
    ix = await fake.slash_command("ingest", {"url": url}, user=fake.admin_user)
    assert expected in await ephemeral_reply(fake, ix)


async def test_article_text_pings_nobody_and_cannot_break_markdown(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await run_command(
        bot, fake, "ingest", {"file": upload("alert.txt", PINGING_ARTICLE)}, user=fake.admin_user
    )
    assert "• Harbour alert for @\u200beveryone" in final_message(fake, ix)["content"]
    asked = await run_command(bot, fake, "ask", {"question": "who was told to leave the quay?"})
    await fake.message(f"{fake.bot_mention} who should stay near the pier?")
    reply = await fake.wait_for(
        lambda r: r.method == "POST" and r.path.endswith("/messages") and r.json.get("embeds")
    )

    for embed in (final_message(fake, asked)["embeds"][0], reply.json["embeds"][0]):
        text = embed_text(embed)
        assert "@\u200beveryone" in text and "@everyone" not in text and "@here" not in text
    text = embed_text(final_message(fake, asked)["embeds"][0])
    assert "<@123>" not in text and "\\*\\*nobody\\*\\*" in embed_text(reply.json["embeds"][0])
    sent = [json.dumps(r.json, ensure_ascii=False) for r in fake.requests if r.json]
    assert not any("@everyone" in body or "<@123>" in body for body in sent)
    # Every message body carried allowed_mentions {"parse": []}: checked for all tests by the fake fixture.


async def test_feeds_add_list_remove(bot: NewsBot, fake: FakeDiscord) -> None:
    admin = fake.admin_user
    added = await run_command(
        bot, fake, "feeds add", {"url": "https://news.example/rss", "name": "Example"}, user=admin
    )
    assert final_message(fake, added)["content"].startswith("Following <https://news.example/rss> (Example).")
    listed = await run_command(bot, fake, "feeds list", user=admin)
    assert (
        "• <https://news.example/rss> (Example): ok; last poll never; 0 items stored"
        in final_message(fake, listed)["content"]
    )
    removed = await run_command(bot, fake, "feeds remove", {"url": "https://news.example/rss"}, user=admin)
    assert final_message(fake, removed)["content"] == "Stopped following <https://news.example/rss>."

    again = await fake.slash_command("feeds remove", {"url": "https://news.example/rss"}, user=admin)
    await fake.wait_until(lambda: again.followup_ids)
    assert "I do not follow that feed" in fake.get_message(again.followup_ids[0])["content"]
    bad = await fake.slash_command("feeds add", {"url": "ftp://news.example/rss"}, user=admin)
    await fake.wait_until(lambda: bad.followup_ids)
    assert "must be an http:// or https:// URL" in fake.get_message(bad.followup_ids[0])["content"]


@pytest.mark.usefixtures("fetch_locally")
async def test_followed_feeds_are_polled_by_default_while_the_bot_runs(
    start_bot, fake: FakeDiscord, engine: Engine, news_site: str
) -> None:
    engine.feeds.add(f"{news_site}/rss.xml", "Gazette", scope=str(fake.guild_id))  # as /feeds add does
    async with start_bot() as bot:  # every 15 minutes by default; the first poll starts at once
        assert bot.settings.feed_poll_minutes == 15
        async with asyncio.timeout(20):
            while "The Example Gazette" not in (await bot.outlets_in(str(fake.guild_id))).names:
                await asyncio.sleep(0.05)
        asked = await run_command(bot, fake, "ask", {"question": "how long can telescopes be borrowed?"})
        assert "Millbrook" in embed_text(final_message(fake, asked)["embeds"][0])
        listed = await run_command(bot, fake, "feeds list", user=fake.admin_user)
        assert "(Gazette): ok; last poll <t:" in final_message(fake, listed)["content"]
        assert "; 3 items stored" in final_message(fake, listed)["content"]


@pytest.mark.usefixtures("fetch_locally")
async def test_no_feed_is_polled_when_polling_is_off(
    start_bot, fake: FakeDiscord, engine: Engine, news_site: str
) -> None:
    feed = engine.feeds.add(f"{news_site}/rss.xml", scope=str(fake.guild_id))
    async with start_bot(feed_poll_minutes=0) as bot:
        added = await run_command(
            bot, fake, "feeds add", {"url": f"{news_site}/atom.xml"}, user=fake.admin_user
        )
        assert "Feed polling is off on this bot" in final_message(fake, added)["content"]
        await asyncio.sleep(0.5)  # time enough for a poll started with the bot to have fetched something
    assert engine.feeds.get(feed.url, feed.scope) == feed  # never polled


def test_an_edited_re_upload_replaces_what_the_first_upload_stored(
    hash_engine: Engine, tmp_path: Path
) -> None:
    reports = []
    for n, day in enumerate(["Monday", "Tuesday"]):
        folder = tmp_path / f"newsbot-upload-{n}"  # every upload is saved in a new temporary folder
        folder.mkdir()
        (folder / "quay.txt").write_text(f"Quay closes\n\nThe quay closes on {day}. Repairs take a week.")
        reports.append(hash_engine.ingest(read_upload(folder / "quay.txt"), scope="42"))
    assert (reports[1].new, reports[1].updated) == (0, 1)
    assert hash_engine.store.query("SELECT id, text, scope FROM articles") == [
        {
            "id": reports[0].article_ids[0],
            "text": "The quay closes on Tuesday. Repairs take a week.",
            "scope": "42",
        }
    ]


async def private_followup(fake: FakeDiscord, ix: FakeInteraction) -> str:
    """The text of a private answer sent after the command deferred (a refusal found on a thread)."""
    await fake.wait_until(lambda: ix.followup_ids)
    message = fake.get_message(ix.followup_ids[0])
    assert message["flags"] == 64, message
    return message["content"]


async def test_a_server_follows_a_limited_number_of_feeds(
    start_bot, fake: FakeDiscord, engine: Engine
) -> None:
    admin, scope = fake.admin_user, str(fake.guild_id)
    async with start_bot(feeds_per_server=2) as bot:
        for n in (1, 2):
            await run_command(bot, fake, "feeds add", {"url": f"https://news.example/{n}.xml"}, user=admin)
        refused = await fake.slash_command("feeds add", {"url": "https://news.example/3.xml"}, user=admin)
        assert await private_followup(fake, refused) == (
            "This server follows 2 feeds, the most it may: stop following one with /feeds remove first."
        )
        renamed = await run_command(
            bot, fake, "feeds add", {"url": "https://news.example/2.xml", "name": "Two"}, user=admin
        )  # following a feed again only renames it: not one more
        assert final_message(fake, renamed)["content"].startswith(
            "Following <https://news.example/2.xml> (Two)"
        )
    assert [(f.url, f.name) for f in engine.feeds.list(scope)] == [
        ("https://news.example/1.xml", None),
        ("https://news.example/2.xml", "Two"),
    ]


def string_options(options: list[dict[str, Any]], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for option in options:
        if option["type"] in (1, 2):  # a subcommand (group)
            yield from string_options(option.get("options") or [], f"{where} {option['name']}")
        elif option["type"] == 3:
            yield f"{where} {option['name']}", option


async def test_every_free_text_option_has_a_length_cap(bot: NewsBot, fake: FakeDiscord) -> None:
    options = [
        found for c in fake.commands() for found in string_options(c.get("options") or [], f"/{c['name']}")
    ]
    assert len(options) >= 12
    uncapped = [where for where, option in options if not 0 < option.get("max_length", 0) <= 6000]
    assert uncapped == []


async def test_an_over_long_option_is_refused_before_anything_is_done(
    bot: NewsBot, fake: FakeDiscord, engine: Engine
) -> None:
    """Discord holds its users to the caps; a value past one (a stale command, a hand-made request) is
    refused before the command acts, as a reply that fits in a message."""
    name = "N" * 3000
    ix = await fake.slash_command(
        "feeds add", {"url": "https://news.example/rss", "name": name}, user=fake.admin_user
    )
    assert await ephemeral_reply(fake, ix) == "`name` is 3,000 characters long: keep it to 100."
    assert engine.feeds.list(str(fake.guild_id)) == []


async def test_a_held_writer_lock_is_reported_without_its_details(
    bot: NewsBot,
    fake: FakeDiscord,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(locks, "WRITER_WAIT", 0.2)
    with locks.FileLocks(engine.settings.data_dir).writer():  # as another process writing to the data dir
        ix = await fake.slash_command("forget", {"article": "h1"}, user=fake.admin_user)
        told = await private_followup(fake, ix)
    assert told == UNAVAILABLE
    assert f"is writing to {engine.settings.data_dir}" in caplog.text  # the operator's details: logged
