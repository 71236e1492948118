"""Self-test: the real discord.py client runs end to end against FakeDiscord."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from .client import running_client
from .payloads import FLAG_EPHEMERAL
from .rest import ApiError
from .server import FakeDiscord


class AgainView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Again", custom_id="again")
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[AgainView]) -> None:
        await interaction.response.edit_message(content="pong again", view=None)


class PingBot(commands.Bot):
    """Minimal bot exercising the flows newsbot relies on."""

    def __init__(self, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, guild_ready_timeout=0.1, **options
        )
        self.ping_seen_admin: list[bool] = []

        @self.tree.command(description="Check the bot is alive")
        async def ping(interaction: discord.Interaction) -> None:
            assert isinstance(interaction.user, discord.Member)
            self.ping_seen_admin.append(interaction.permissions.manage_guild)
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("pong", view=AgainView())

        @self.tree.command(description="Echo text back")
        @app_commands.describe(text="What to say")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.send_message(text)

        @self.tree.command(description="Answers after Discord's deadline")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(1.2)
            await interaction.response.send_message("too late")

        @echo.autocomplete("text")
        async def echo_complete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f"{current} news", value=f"{current} news")]

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user not in message.mentions:
            return
        async with message.channel.typing():
            await message.reply(f"you said: {message.content}")


@contextlib.asynccontextmanager
async def bot_on_fake(**fake_options: object) -> AsyncIterator[tuple[FakeDiscord, PingBot]]:
    async with (
        FakeDiscord(**fake_options) as fake,  # type: ignore[arg-type]
        running_client(PingBot(), fake, ready_timeout=5) as bot,
    ):
        yield fake, bot


async def test_real_client_round_trip() -> None:
    async with bot_on_fake() as (fake, bot):
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.get_channel(fake.channel_id) is not None
        fetched = await bot.fetch_channel(fake.channel_id)
        assert isinstance(fetched, discord.TextChannel) and fetched.name == "news"
        assert fake.identifies[0]["intents"] & (1 << 15)  # message_content requested
        sync = fake.requests_matching("PUT", rf"/applications/{fake.application_id}/commands$")
        assert [c["name"] for c in sync[0].json] == ["ping", "echo", "slow"]
        assert {c["name"] for c in fake.commands()} == {"ping", "echo", "slow"}

        # /ping: deferred (type 5), then a followup through the interaction webhook.
        ix = await fake.slash_command("ping", user=fake.admin_user)
        followup = await fake.wait_for_request("POST", rf"/webhooks/{fake.application_id}/{ix.token}$")
        assert ix.callback_types == [5]
        assert followup.json["content"] == "pong" and followup.status == 200
        assert [r.method for r in fake.interaction_responses(ix.id)] == ["POST", "POST"]
        assert bot.ping_seen_admin == [True]
        await fake.slash_command("ping")  # normal member: no Manage Server
        await fake.wait_until(lambda: len(bot.ping_seen_admin) == 2)
        assert bot.ping_seen_admin[1] is False

        # Clicking the button on the followup updates that message (type 7).
        pong = fake.get_message(ix.followup_ids[0])
        click = await fake.component_click(pong, "again")
        await fake.wait_until(lambda: click.callbacks)
        assert click.callback_types == [7]
        assert fake.get_message(int(pong["id"]))["content"] == "pong again"

        # Autocomplete (type 8) and an immediate response (type 4).
        complete = await fake.autocomplete("echo", {"text": "rust"}, focused="text")
        await fake.wait_until(lambda: complete.callbacks)
        assert complete.callbacks[0] == {
            "type": 8,
            "data": {"choices": [{"name": "rust news", "value": "rust news"}]},
        }
        echo = await fake.slash_command("echo", {"text": "hello"})
        await fake.wait_until(lambda: echo.original_id)
        assert fake.get_message(echo.original_id)["content"] == "hello"

        # A mention gets a reply via POST /channels/{id}/messages, even through one 429.
        fake.inject_error("POST", rf"/channels/{fake.channel_id}/messages$", 429, retry_after=0.05)
        asked = await fake.message(f"{fake.bot_mention} what's new?")
        reply = await fake.wait_for(
            lambda r: r.path == f"/channels/{fake.channel_id}/messages" and r.status == 200
        )
        assert reply.json["content"].startswith("you said:")
        assert reply.response["message_reference"]["message_id"] == asked["id"]
        assert reply.response["referenced_message"]["content"] == asked["content"]
        assert [r.status for r in fake.requests_matching("POST", "/messages$")] == [429, 200]
        assert fake.requests_matching("POST", rf"/channels/{fake.channel_id}/typing$")
        await fake.message("not for the bot")
        await asyncio.sleep(0.2)
        assert len(fake.requests_matching("POST", "/messages$")) == 2

        # Heartbeats keep being acknowledged.
        await fake.wait_until(lambda: fake.heartbeat_acks >= 2, timeout=5)

        # Op 7: discord.py reconnects and RESUMEs; events sent meanwhile are replayed.
        await fake.request_reconnect()
        await fake.message(f"{fake.bot_mention} still there?")
        await fake.wait_until(lambda: fake.resumes == 1)
        await fake.wait_for(lambda r: r.path.endswith("/messages") and "still there" in r.json["content"])
        assert len(fake.identifies) == 1
        assert fake.unknown_requests == []

    assert bot.is_closed()
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert leftovers == []


async def test_discord_rules_are_enforced() -> None:
    async with bot_on_fake(interaction_timeout=1.0) as (fake, _bot):
        # Discord rejects over-long content; discord.py surfaces it as an HTTPException in the command.
        too_long = await fake.slash_command("echo", {"text": "x" * 2001})
        callback = await fake.wait_for_request("POST", rf"/interactions/{too_long.id}/")
        assert callback.status == 400 and callback.response["code"] == 50035
        assert "content" in callback.response["errors"]["data"]
        assert too_long.callbacks == []

        with pytest.raises(LookupError):
            await fake.slash_command("nope")
        with pytest.raises(ValueError):
            await fake.slash_command("echo")

        # Answering after the 3 s deadline (1 s here) fails like on Discord; no followups before an ack.
        slow = await fake.slash_command("slow")
        headers = {"Authorization": f"Bot {fake.token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(headers=headers) as http:
            followup = {"content": "early"}
            async with http.post(
                f"{fake.api_url}/webhooks/{fake.application_id}/{slow.token}", json=followup
            ) as resp:
                assert resp.status == 404 and (await resp.json())["code"] == 10015
            late = await fake.wait_for_request("POST", rf"/interactions/{slow.id}/")
            assert late.status == 404 and late.response["code"] == 10062

            # A second acknowledgement is rejected.
            echo = await fake.slash_command("echo", {"text": "once"})
            await fake.wait_until(lambda: echo.callbacks)
            again = {"type": 4, "data": {"content": "twice"}}
            async with http.post(
                f"{fake.api_url}/interactions/{echo.id}/{echo.token}/callback", json=again
            ) as resp:
                assert resp.status == 400 and (await resp.json())["code"] == 40060

            url = f"{fake.api_url}/channels/{fake.channel_id}/messages"
            async with http.post(url, json={"content": ""}) as resp:
                assert resp.status == 400 and (await resp.json())["code"] == 50006
            async with http.get(f"{fake.api_url}/guilds/{fake.guild_id}/bans") as resp:
                assert resp.status == 404 and resp.headers["Content-Type"] == "application/json"
            async with http.get(f"{fake.api_url}/users/@me", headers={"Authorization": "Bot wrong"}) as resp:
                assert resp.status == 401
        assert [r.path for r in fake.unknown_requests] == [f"/guilds/{fake.guild_id}/bans"]


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Your feedback", custom_id="text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class NewsBot(commands.Bot):
    """Members intent on, message content off: chunking and content stripping take effect."""

    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.default()
        intents.members = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.1)
        self.seen: list[tuple[str, bool]] = []
        self.guild_scope = discord.Object(guild_id)
        news = app_commands.Group(name="news", description="News")

        @news.command(description="Latest headlines for someone")
        async def latest(interaction: discord.Interaction, who: discord.Member, count: int = 3) -> None:
            await interaction.response.defer(ephemeral=True)
            report = discord.File(io.BytesIO(b"headline"), filename="news.txt")
            await interaction.edit_original_response(
                content=f"{count} for {who.display_name}", attachments=[report]
            )

        @self.tree.command(description="Send feedback")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Feedback())

        self.tree.add_command(news)

    async def setup_hook(self) -> None:
        self.tree.copy_global_to(guild=self.guild_scope)
        await self.tree.sync(guild=self.guild_scope)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.seen.append((message.content, message.guild is None))
        if message.guild is None:
            await message.channel.send("dm ok")


async def test_guild_commands_files_modals_dms_and_intents() -> None:
    async with FakeDiscord() as fake, running_client(NewsBot(fake.guild_id), fake, ready_timeout=5) as bot:
        # Members intent: discord.py chunks the guild (op 8) before on_ready.
        assert any(p["op"] == 8 for p in fake.gateway_received)
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.get_member(fake.admin_user.id) is not None
        assert fake.commands() == [] and {c["name"] for c in fake.commands(fake.guild_id)} == {
            "news",
            "feedback",
        }

        # Subcommand with a member option; deferred ephemerally, then the original edited with a file.
        ix = await fake.slash_command("news latest", {"who": fake.admin_user, "count": 2})
        edit = await fake.wait_for_request(
            "PATCH", rf"/webhooks/{fake.application_id}/{ix.token}/messages/@original"
        )
        assert ix.payload["data"]["guild_id"] == str(fake.guild_id)
        assert (
            edit.status == 200 and edit.files[0].filename == "news.txt" and edit.files[0].data == b"headline"
        )
        original = fake.get_message(ix.original_id)
        assert original["content"] == "2 for Bob" and original["attachments"][0]["filename"] == "news.txt"
        assert original["flags"] == FLAG_EPHEMERAL

        # Modal: the bot opens it (type 9), the user submits it, the bot answers ephemerally.
        opened = await fake.slash_command("feedback")
        await fake.wait_until(lambda: opened.callbacks)
        submitted = await fake.modal_submit(opened.callbacks[0]["data"]["custom_id"], {"text": "more sport"})
        await fake.wait_until(lambda: submitted.original_id)
        assert fake.get_message(submitted.original_id)["content"] == "thanks: more sport"

        # Without the message content intent, guild messages arrive blank unless they mention the bot.
        await fake.message("secret")
        await fake.message(f"{fake.bot_mention} visible")
        dm = await fake.message("hello in private", dm=True)
        await fake.wait_for(lambda r: r.path == f"/channels/{dm['channel_id']}/messages")
        assert bot.seen == [("", False), (f"{fake.bot_mention} visible", False), ("hello in private", True)]
        assert [m["content"] for m in fake.messages_in(int(dm["channel_id"]))] == [
            "hello in private",
            "dm ok",
        ]


async def test_forget_keeps_a_window_of_records_and_the_bot_still_works() -> None:
    async with bot_on_fake(heartbeat_interval_ms=100, token_lifetime=1.5) as (fake, bot):
        ping = await fake.slash_command("ping")
        await fake.wait_until(lambda: ping.followup_ids)
        pong = fake.get_message(ping.followup_ids[0])
        old = await fake.slash_command("echo", {"text": "old"})
        await fake.wait_until(lambda: old.original_id)
        await asyncio.sleep(2.0)  # heartbeats meanwhile confirm every event so far
        sent = len(fake._session.sent)  # type: ignore[union-attr]
        click = await fake.component_click(pong, "again")  # an edit: pong stays, though sent long ago
        await fake.wait_until(lambda: click.callbacks)

        fake.forget(older_than=1.5)
        assert set(fake.interactions) == {click.id}  # ping and old: old, and past their token
        assert {r.path for r in fake.requests} == {f"/interactions/{click.id}/{click.token}/callback"}
        assert fake.get_message(int(pong["id"]))["content"] == "pong again"
        with pytest.raises(ApiError):
            fake.get_message(old.original_id)
        assert len(fake._session.sent) < sent  # type: ignore[union-attr]

        await fake.request_reconnect()  # RESUME replays what the bot has not confirmed
        await fake.wait_until(lambda: fake.resumes == 1)
        echo = await fake.slash_command("echo", {"text": "after"})
        await fake.wait_until(lambda: echo.original_id)
        assert fake.get_message(echo.original_id)["content"] == "after"


async def test_forget_keeps_the_original_response_an_interaction_kept_may_still_edit() -> None:
    async with bot_on_fake(token_lifetime=60) as (fake, bot):
        echo = await fake.slash_command("echo", {"text": "long job"})
        await fake.wait_until(lambda: echo.original_id)
        await asyncio.sleep(0.3)
        fake.forget(older_than=0.1)  # the message is old, but its token still lets the bot edit it
        assert echo.id in fake.interactions
        assert fake.get_message(echo.original_id)["content"] == "long job"


async def test_each_shard_is_told_of_its_own_guilds_and_gets_only_their_events() -> None:
    async with FakeDiscord() as fake:
        guilds = [fake.add_guild(f"Shard {i}", shard=(i, 2)) for i in range(2)]
        bots = [PingBot(shard_id=i, shard_count=2) for i in range(2)]
        async with (
            running_client(bots[0], fake, ready_timeout=5),
            running_client(bots[1], fake, ready_timeout=5),
        ):
            assert sorted(fake.identifies[i]["shard"] for i in range(2)) == [[0, 2], [1, 2]]
            for i, bot in enumerate(bots):
                held = {guild_id for guild_id in fake.guilds if (guild_id >> 22) % 2 == i}
                assert {g.id for g in bot.guilds} == held and guilds[i].id in held
                channel = bot.get_channel(guilds[i].channel_id)
                assert channel is not None and channel.guild.default_role.id == guilds[i].id

            pings = [await fake.slash_command("ping", channel_id=guild.channel_id) for guild in guilds]
            await fake.wait_until(lambda: all(ix.followup_ids for ix in pings))
            assert [len(bot.ping_seen_admin) for bot in bots] == [1, 1]  # each bot its own guild's
            said = await fake.message(f"{fake.bot_mention} hello", channel_id=guilds[1].channel_id)
            await fake.wait_until(
                lambda: fake.messages_in(guilds[1].channel_id)[-1].get("referenced_message")
            )
            for session in fake.sessions:  # every event of a guild went to the session of its shard
                events = [(p["t"], p["d"]) for p in session.sent if p["t"] != "READY"]
                assert {"GUILD_CREATE", "INTERACTION_CREATE", "MESSAGE_CREATE"} <= {
                    kind for kind, _ in events
                }
                about = {int(d["id"] if kind == "GUILD_CREATE" else d["guild_id"]) for kind, d in events}
                assert about == {g for g in fake.guilds if session.holds(g)}
                assert guilds[session.shard[0]].id in about
                if session.shard == (1, 2):
                    assert said["id"] in [d["id"] for kind, d in events if kind == "MESSAGE_CREATE"]
