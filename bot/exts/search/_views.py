"""Prev / Next through the pages of a search."""

from __future__ import annotations

import discord

from bot.exts.search._render import page_count, search_embed
from bot.views import OwnerView
from index.engine import SearchHit


class SearchView(OwnerView):
    def __init__(self, owner_id: int, query: str, hits: list[SearchHit]) -> None:
        super().__init__(owner_id)
        self.query = query
        self.hits = hits
        self.page = 0
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page + 1 >= page_count(len(self.hits))

    async def _show(self, interaction: discord.Interaction, step: int) -> None:
        self.page += step
        self._update_buttons()
        await interaction.response.edit_message(
            embed=search_embed(self.query, self.hits, self.page), view=self
        )

    @discord.ui.button(label="Prev", style=discord.ButtonStyle.secondary, custom_id="search:prev")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[SearchView]) -> None:
        await self._show(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary, custom_id="search:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[SearchView]) -> None:
        await self._show(interaction, +1)
