"""Prev / Next through the pages of a search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.exts.search._render import RESULTS, page_count, search_embed
from bot.views import ButtonState, OwnerButton, show
from index import Filters, SavedQuestion, SearchHit

if TYPE_CHECKING:
    from bot.app import NewsBot

ACTIONS = {
    "prev": ("Prev", discord.ButtonStyle.secondary),
    "next": ("Next", discord.ButtonStyle.primary),
}


@dataclass(frozen=True)
class Pages:
    query: str
    hits: list[SearchHit]


class PageButton(OwnerButton[Pages], prefix="search", actions=ACTIONS):
    async def compute(self, bot: NewsBot, saved: SavedQuestion) -> Pages:
        hits = await bot.run_question(bot.questions.search, saved.text, RESULTS, saved.filters)
        return Pages(saved.text, hits)

    async def press(self, interaction: discord.Interaction, pages: Pages) -> None:
        step = -1 if self.action == "prev" else 1
        page = max(0, min(self.state.page + step, page_count(len(pages.hits)) - 1))
        state = ButtonState(self.state.key, page, self.state.owner_id)
        await show(interaction, search_embed(pages.query, pages.hits, page), page_buttons(state, pages))


def page_buttons(state: ButtonState, pages: Pages) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton("prev", state, disabled=state.page == 0))
    view.add_item(PageButton("next", state, disabled=state.page + 1 >= page_count(len(pages.hits))))
    return view


async def search_buttons(bot: NewsBot, filters: Filters, owner_id: int, pages: Pages) -> discord.ui.View:
    """Prev / Next under a search's first page; the query is saved with its asker (`OwnerButton.keep`)
    so that they still turn after a restart."""
    key = await PageButton.keep(bot, pages.query, filters, owner_id, pages)
    return page_buttons(ButtonState(key, 0, owner_id), pages)
