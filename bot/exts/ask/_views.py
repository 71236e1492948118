"""The buttons under an answer: more quotes, and the context around them."""

from __future__ import annotations

import discord

from bot.exts.ask._render import answer_embed, context_embed, page_count
from bot.views import OwnerView
from index.answer import AskResult


class AnswerView(OwnerView):
    def __init__(self, owner_id: int, result: AskResult, threshold: float) -> None:
        super().__init__(owner_id)
        self.result = result
        self.threshold = threshold
        self.page = 0
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.more_answers.disabled = self.page + 1 >= page_count(len(self.result.answers))

    @discord.ui.button(label="More answers", style=discord.ButtonStyle.primary, custom_id="ask:more")
    async def more_answers(
        self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]
    ) -> None:
        self.page += 1
        self._update_buttons()
        await interaction.response.edit_message(
            embed=answer_embed(self.result, self.page, self.threshold), view=self
        )

    @discord.ui.button(label="Show context", style=discord.ButtonStyle.secondary, custom_id="ask:context")
    async def show_context(
        self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]
    ) -> None:
        await interaction.response.send_message(embed=context_embed(self.result, self.page), ephemeral=True)


def answer_reply(
    result: AskResult, owner_id: int, threshold: float
) -> tuple[discord.Embed, AnswerView | None]:
    """The embed for an answer, and its buttons when there are quotes to page through."""
    view = AnswerView(owner_id, result, threshold) if result.answers else None
    return answer_embed(result, 0, threshold), view
