"""Buttons that belong to the person who asked, and that outlive the bot.

Each button is a `discord.ui.DynamicItem` whose custom id holds all it needs: its action, the key of
the question it answers (saved in the engine's store, see `index.saved_questions`), the page shown and
its owner. While the bot runs, what the buttons page through is kept in memory; after a restart the
first press computes it again from the saved question (`Recent`), which other buttons on the same
message may share (the votes under an answer, which anyone may press).
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import discord

from bot.checks import scope_of
from bot.errors import UserError, answer_error
from index.saved_questions import SavedQuestion, save_question, saved_question
from index.store import Filters

if TYPE_CHECKING:
    from bot.app import NewsBot

T = TypeVar("T")

RECENT = 512  # results kept in memory per kind of button, so that a press need not compute them again
STATE = r":(?P<key>[0-9a-f]{16}):(?P<page>\d{1,4}):(?P<owner>\d{1,20})"  # with the action, under 100
OWNERS_ONLY = "These buttons belong to whoever asked; use /ask or /search for your own."
EXPIRED = "These buttons have expired: ask again with /ask or /search."

Actions = dict[str, tuple[str, discord.ButtonStyle]]  # action: (label, style)


def new_key() -> str:
    """A key for one message's buttons: random, so that a key says nothing of another message's."""
    return secrets.token_hex(8)


async def save(bot: NewsBot, text: str, filters: Filters) -> str:
    """Save a question with its filters, so that its buttons still work after a restart; its key."""
    key = new_key()
    await bot.run_engine(save_question, bot.engine.store, key, text, filters)
    return key


class Recent(OrderedDict[str, T]):
    """What one kind of button acts on, by saved question key: the last `RECENT` in memory, so that a
    press need not compute them again."""

    def remember(self, key: str, value: T) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > RECENT:
            self.popitem(last=False)

    async def recall(
        self,
        interaction: discord.Interaction,
        key: str,
        compute: Callable[[NewsBot, SavedQuestion], Awaitable[T]],
        *,
        private: bool,
    ) -> T:
        """The value under ``key``: from memory, else computed again from the saved question, after
        deferring (``private``: the answer will be a message only the presser sees), as that may take
        longer than the 3 seconds Discord gives."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        await interaction.response.defer(ephemeral=private, thinking=private)
        bot = cast("NewsBot", interaction.client)
        saved = await bot.run_engine(saved_question, bot.engine.store, key, scope_of(interaction.guild_id))
        if saved is None:
            raise UserError(EXPIRED)
        value = await compute(bot, saved)
        self.remember(key, value)
        return value


@dataclass(frozen=True)
class ButtonState:
    key: str
    page: int
    owner_id: int


class OwnerButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    Generic[T],
    template=r"(?P<prefix>[a-z]+):(?P<action>[a-z]+)" + STATE,  # each kind narrows it (`__init_subclass__`)
):
    """A button only its owner may press. A kind of button names its custom id ``prefix`` and its
    ``actions``, computes what it pages through from a saved question (`compute`), and acts (`press`)."""

    prefix: ClassVar[str]
    actions: ClassVar[Actions]
    recent: ClassVar[Recent[Any]]

    def __init_subclass__(cls, *, prefix: str, actions: Actions) -> None:
        cls.prefix, cls.actions, cls.recent = prefix, actions, Recent()
        super().__init_subclass__(template=f"{prefix}:(?P<action>{'|'.join(actions)})" + STATE)

    def __init__(self, action: str, state: ButtonState, *, disabled: bool = False) -> None:
        label, style = self.actions[action]
        custom_id = f"{self.prefix}:{action}:{state.key}:{state.page}:{state.owner_id}"
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id, disabled=disabled))
        self.action = action
        self.state = state

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> OwnerButton[T]:
        return cls(match["action"], ButtonState(match["key"], int(match["page"]), int(match["owner"])))

    @classmethod
    def remember(cls, key: str, value: T) -> None:
        cls.recent.remember(key, value)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.state.owner_id:
            return True
        await interaction.response.send_message(OWNERS_ONLY, ephemeral=True)
        return False

    async def callback(self, interaction: discord.Interaction) -> None:
        await pressed(interaction, self.press)

    async def press(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError

    async def compute(self, bot: NewsBot, saved: SavedQuestion) -> T:
        raise NotImplementedError

    async def value(self, interaction: discord.Interaction, *, private: bool) -> T:
        """What the buttons page through (`Recent.recall`)."""
        return cast(T, await self.recent.recall(interaction, self.state.key, self.compute, private=private))


async def pressed(
    interaction: discord.Interaction, press: Callable[[discord.Interaction], Awaitable[None]]
) -> None:
    """Run a button's action: discord.py would only log a failure, and the presser must hear of it."""
    try:
        await press(interaction)
    except Exception as exc:
        await answer_error(interaction, exc)


async def show(interaction: discord.Interaction, embed: discord.Embed, view: discord.ui.View) -> None:
    """Put a new page on the buttons' message."""
    if interaction.response.is_done():  # deferred by `OwnerButton.value`
        await interaction.edit_original_response(embed=embed, view=view)
    else:
        await interaction.response.edit_message(embed=embed, view=view)


async def tell(
    interaction: discord.Interaction, embed: discord.Embed | None = None, *, content: str | None = None
) -> None:
    """Answer the presser with a message only they see."""
    if interaction.response.is_done():  # its private "thinking…" becomes the answer
        await interaction.edit_original_response(content=content, embed=embed)
    else:
        await interaction.response.send_message(content, embed=embed, ephemeral=True)
