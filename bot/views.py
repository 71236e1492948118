"""Buttons that belong to the person who asked."""

from __future__ import annotations

import contextlib
from typing import Any

import discord

from bot.errors import answer_error

# Under the 15 minutes an interaction's token lives: editing the message on timeout needs it.
VIEW_TIMEOUT = 600.0


class OwnerView(discord.ui.View):
    """A view only its owner may use; its buttons are disabled when it times out."""

    def __init__(self, owner_id: int, *, timeout: float = VIEW_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.Message | None = None  # set once sent, to disable the buttons later

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These buttons belong to whoever asked; use /ask or /search for your own.", ephemeral=True
        )
        return False

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await answer_error(interaction, error)
