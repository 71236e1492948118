"""Self-test: message context menus (command type 3) reach the real client with their target message."""

from __future__ import annotations

import discord
import pytest
from discord.ext import commands

from .client import running_client
from .server import FakeDiscord


class MenuBot(commands.Bot):
    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.none(), guild_ready_timeout=0.1)

        @self.tree.context_menu(name="Echo message")
        async def echo(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(
                f"{message.author.name}: {message.content}", ephemeral=True
            )

    async def setup_hook(self) -> None:
        await self.tree.sync()


async def test_a_message_menu_gets_its_target_message_whatever_the_intents() -> None:
    async with FakeDiscord() as fake, running_client(MenuBot(), fake, ready_timeout=5):
        assert [(c["name"], c["type"]) for c in fake.commands()] == [("Echo message", 3)]
        said = await fake.message("the ferry is late", author=fake.admin_user)
        ix = await fake.message_command("Echo message", said)
        await fake.wait_until(lambda: ix.callbacks)
        assert ix.payload["data"]["target_id"] == said["id"] and ix.payload["data"]["type"] == 3
        answer = ix.callbacks[0]["data"]
        assert answer["content"] == "bob: the ferry is late" and answer["flags"] == 64
        with pytest.raises(LookupError, match="the 'Quote' menu is not registered"):
            await fake.message_command("Quote", said)
