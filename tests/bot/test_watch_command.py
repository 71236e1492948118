"""/watch end to end: a server's moderators set watches, and the bot's loop posts the best quote from
new matching articles once, in the channel each was set in, seeing only what that server sees."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

import pytest
from fakediscord import FakeDiscord, UploadedFile
from harness import ephemeral_reply, final_message, run_command

from bot.app import NewsBot
from bot.exts.watch._cog import Watching
from index.engine import Engine
from index.features.watch import Watches

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "watch"
NEW = {
    article["id"]: article
    for article in map(json.loads, (FIXTURES / "new.jsonl").read_text(encoding="utf-8").splitlines())
}


def watching(bot: NewsBot) -> Watching:
    return cast(Watching, bot.get_cog("Watching"))


async def watch(bot: NewsBot, fake: FakeDiscord, query: str, **where: Any) -> str:
    ix = await run_command(bot, fake, "watch add", {"query": query}, user=fake.admin_user, **where)
    return final_message(fake, ix)["content"]


def posts(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    """What the watches posted in a channel (not answers to commands)."""
    return [m for m in fake.messages_in(channel_id) if m.get("interaction_metadata") is None]


async def ingest_shared(engine: Engine, folder: Path, *ids: str) -> None:
    """As `newsbot ingest` would: shared news, in another thread."""
    path = folder / f"{'-'.join(ids)}.jsonl"
    path.write_text("".join(json.dumps(NEW[i]) + "\n" for i in ids), encoding="utf-8")
    await asyncio.to_thread(engine.ingest_paths, [path])


async def test_a_watch_posts_a_new_matching_article_once(
    bot: NewsBot, engine: Engine, fake: FakeDiscord, tmp_path: Path
) -> None:
    assert watching(bot).check_watches.is_running()
    said = await watch(bot, fake, "ferry strike")
    assert said.startswith("Watching “ferry strike” (watch 1): when new articles match it, I post the best")
    assert f"<#{fake.channel_id}>, at most once every 30 minutes" in said
    await watch(bot, fake, "harbour seals")

    await ingest_shared(engine, tmp_path, "library")
    assert await watching(bot).check_once() == 0  # nothing close to either

    await ingest_shared(engine, tmp_path, "strike_ends", "fish")
    assert await watching(bot).check_once() == 1
    (post,) = posts(fake, fake.channel_id)
    (embed,) = post["embeds"]
    assert embed["title"] == "New on “ferry strike”" and "returned to work on Friday" in embed["description"]
    assert "Ferry strike ends" in embed["description"]  # the citation
    assert embed["footer"]["text"] == "Watch 1 · stop it with /watch remove 1"

    assert await watching(bot).check_once() == 0  # the next loop: nothing new
    assert len(posts(fake, fake.channel_id)) == 1


async def test_a_server_s_watch_never_fires_on_another_server_s_upload(
    bot: NewsBot, fake: FakeDiscord
) -> None:
    in_b = {"channel_id": fake.other_channel_id}
    await watch(bot, fake, "ferry strike")
    await watch(bot, fake, "ferry strike", **in_b)
    article = NEW["strike_ends"]
    upload = UploadedFile("file", "strike.jsonl", "application/json", json.dumps(article).encode())
    await run_command(bot, fake, "ingest", {"file": upload}, user=fake.admin_user, **in_b)

    assert await watching(bot).check_once() == 1
    assert posts(fake, fake.channel_id) == []
    (post,) = posts(fake, fake.other_channel_id)
    assert "returned to work on Friday" in post["embeds"][0]["description"]


async def test_the_loop_checks_only_the_watches_of_the_servers_it_serves(
    bot: NewsBot, engine: Engine, fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server on another shard is another process's (it alone sees the channels): its watch is never
    claimed, checked or posted here."""
    mine = (fake.guild_id >> 22) % 2  # the shard Discord routes the fake's server to
    monkeypatch.setattr(bot.settings, "shard_count", 2)  # this process runs that one of two
    monkeypatch.setattr(bot.settings, "shard_ids", [mine])
    await watch(bot, fake, "ferry strike")
    other_shard = str((1 - mine) << 22)  # a server id on the other shard
    elsewhere = Watches(engine).add("ferry strike", scope=other_shard, channel=fake.other_channel_id)
    await ingest_shared(engine, tmp_path, "strike_ends")
    assert await watching(bot).check_once() == 1
    assert len(posts(fake, fake.channel_id)) == 1 and posts(fake, fake.other_channel_id) == []
    stored = engine.store.query("SELECT claimed_by, last_pk FROM watches WHERE pk = ?", [elsewhere.id])
    assert stored == [{"claimed_by": None, "last_pk": elsewhere.last_pk}]


async def test_watches_are_listed_and_removed_by_their_server(bot: NewsBot, fake: FakeDiscord) -> None:
    admin, in_b = fake.admin_user, {"channel_id": fake.other_channel_id}
    listed = await run_command(bot, fake, "watch list", user=admin)
    assert (
        final_message(fake, listed)["content"]
        == "This server watches nothing yet: add a watch with /watch add."
    )
    await watch(bot, fake, "ferry strike")
    await watch(bot, fake, "storm <@everyone> warnings")
    again = await fake.slash_command("watch add", {"query": "Ferry  strike"}, user=admin)
    await fake.wait_until(lambda: again.followup_ids)
    assert fake.get_message(again.followup_ids[0])["content"] == "“Ferry strike” is already watched here"

    listed = final_message(fake, await run_command(bot, fake, "watch list", user=admin))["content"]
    day = listed.split("since ")[1][:10]
    assert listed.splitlines() == [
        "This server has 2 watches:",
        f"• 1: “ferry strike” in <#{fake.channel_id}>, since {day}",
        f"• 2: “storm <\u200b@\u200beveryone> warnings” in <#{fake.channel_id}>, since {day}",
    ]

    elsewhere = await fake.slash_command("watch remove", {"id": 1}, user=admin, **in_b)
    await fake.wait_until(lambda: elsewhere.followup_ids)
    notice = fake.get_message(elsewhere.followup_ids[0])["content"]
    assert notice == "This server has no watch 1: /watch list shows its watches."
    removed = await run_command(bot, fake, "watch remove", {"id": 1}, user=admin)
    assert final_message(fake, removed)["content"] == "Stopped watching “ferry strike”."
    listed = final_message(fake, await run_command(bot, fake, "watch list", user=admin))["content"]
    assert listed.splitlines()[1:] == [
        f"• 2: “storm <\u200b@\u200beveryone> warnings” in <#{fake.channel_id}>, since {day}"
    ]


async def test_only_moderators_set_watches(bot: NewsBot, fake: FakeDiscord) -> None:
    ix = await fake.slash_command("watch add", {"query": "ferry strike"})  # alice, a member
    assert await ephemeral_reply(fake, ix) == "Only members with the Manage Server permission can do that."
    (group,) = [c for c in fake.commands() if c["name"] == "watch"]
    assert group["default_member_permissions"] == "32"  # Manage Server
