"""The buttons under an answer: more quotes, the context around them, and a vote on each quote.

The votes (👍 / 👎) are for every member, not only whoever asked: anyone who reads an answer can say
whether its quote answers the question (`index.features.feedback`). A vote's custom id names the saved
question and a fingerprint of the quote it is on, so that a press after a restart, which answers the
question again, records the quote the voter saw, or says that the answer has changed.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from bot.errors import UserError
from bot.exts.ask._render import PAGE_SIZE, answer_embed, context_embed, page_count, page_of
from bot.views import ButtonState, OwnerButton, genuine, pressed, show, tell
from index import DOWN, UP, Answer, AskResult, Feedback, Filters, SavedQuestion

if TYPE_CHECKING:
    from bot.app import NewsBot

ACTIONS = {
    "more": ("More answers", discord.ButtonStyle.primary),
    "context": ("Show context", discord.ButtonStyle.secondary),
}
VOTES = {"up": ("👍", UP), "down": ("👎", DOWN)}  # vote: (label, value stored)
THANKS = "Thanks — noted."
CHANGED = "That answer has changed since it was posted: ask again, and vote on the new one."


async def ask_again(bot: NewsBot, saved: SavedQuestion) -> AskResult:
    return await bot.run_question(bot.questions.ask, saved.text, None, saved.filters)


class AnswerButton(OwnerButton[AskResult], prefix="ask", actions=ACTIONS, private=["context"]):
    async def compute(self, bot: NewsBot, saved: SavedQuestion) -> AskResult:
        return await ask_again(bot, saved)

    async def press(self, interaction: discord.Interaction, result: AskResult) -> None:
        last = page_count(len(result.answers)) - 1
        if self.action == "context":
            await tell(interaction, context_embed(result, min(self.state.page, last)))
            return
        page = min(self.state.page + 1, last)
        threshold = cast("NewsBot", interaction.client).engine.min_answer_score
        state = ButtonState(self.state.key, page, self.state.owner_id)
        await show(interaction, answer_embed(result, page, threshold), answer_buttons(state, result))


def fingerprint(answer: Answer) -> str:
    """A short mark of a quote: its article and sentence (ids of sentence rows change on re-ingest)."""
    return hashlib.sha256(f"{answer.article.id}\n{answer.sentence}".encode()).hexdigest()[:8]


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=(
        rf"vote:(?P<vote>{'|'.join(VOTES)}):(?P<key>[0-9a-f]{{16}})"  # the saved question's key
        r":(?P<number>\d{1,4}):(?P<quote>[0-9a-f]{8})"  # the quote's number as shown, its `fingerprint`
    ),
):
    """👍 or 👎 on one quote of an answer (numbered as the answer counts its quotes), for any member;
    voting again on the same quote replaces the vote."""

    def __init__(self, vote: str, key: str, quote: str, number: int) -> None:
        label, _ = VOTES[vote]
        custom_id = f"vote:{vote}:{key}:{number}:{quote}"
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=f"{label} {number}", style=discord.ButtonStyle.secondary, custom_id=custom_id
        )
        super().__init__(button, row=1)
        self.vote, self.key, self.quote = vote, key, quote

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["vote"], match["key"], match["quote"], int(match["number"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await genuine(interaction, self.custom_id)

    async def callback(self, interaction: discord.Interaction) -> None:
        await pressed(interaction, self.press)

    async def press(self, interaction: discord.Interaction) -> None:
        result = await AnswerButton.recent.recall(interaction, self.key, ask_again, private=True)
        answer = next((a for a in result.answers if fingerprint(a) == self.quote), None)
        if answer is None:
            raise UserError(CHANGED)
        bot = cast("NewsBot", interaction.client)
        _, vote = VOTES[self.vote]
        feedback = Feedback(bot.engine.store)
        await bot.run_engine(
            feedback.record, result.question, answer, vote, interaction.user.id, interaction.guild_id
        )
        await tell(interaction, content=THANKS)


def answer_buttons(state: ButtonState, result: AskResult) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AnswerButton("more", state, disabled=state.page + 1 >= page_count(len(result.answers))))
    view.add_item(AnswerButton("context", state))
    for number, answer in enumerate(page_of(result, state.page), start=state.page * PAGE_SIZE + 1):
        for vote in VOTES:
            view.add_item(VoteButton(vote, state.key, fingerprint(answer), number))
    return view


async def answer_reply(
    bot: NewsBot, result: AskResult, filters: Filters, owner_id: int
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The embed for an answer, and its buttons when there are quotes to page through; the question is
    saved with its asker (`OwnerButton.keep`) so that the buttons still answer after a restart."""
    embed = answer_embed(result, 0, bot.engine.min_answer_score)
    if not result.answers:
        return embed, None
    key = await AnswerButton.keep(bot, result.question, filters, owner_id, result)
    return embed, answer_buttons(ButtonState(key, 0, owner_id), result)
