"""Buttons that belong to the person who asked, and that outlive the bot.

Each button is a `discord.ui.DynamicItem` whose custom id holds all it needs: its action, the key of
the question it answers (saved in the engine's store with its server and asker, see
`index.features.saved_questions`), the page shown and its owner. While the bot runs, what the buttons page
through is kept in memory; after a restart the first press computes it again from the saved question
(`Recent`), which other buttons on the same message may share (the votes under an answer, which anyone
may press).

Any client can send any custom id, so none is trusted on its own: a press counts only for a button on a
message this bot sent (`genuine`, against Discord's copy of the message, which the interaction carries);
a key reads only what was kept for the server (or DMs) pressed from; the owner is the asker the bot kept,
not the one the custom id names; and answering again after a restart keeps to the question limits.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import discord

from bot.checks import scope_of
from bot.errors import UserError, answer_error
from index import Filters, SavedQuestion, save_question, saved_question

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger(__name__)

T = TypeVar("T")

RECENT = 512  # results kept in memory per kind of button, so that a press need not compute them again
STATE = r":(?P<key>[0-9a-f]{16}):(?P<page>\d{1,4}):(?P<owner>\d{1,20})"  # with the action, under 100
OWNERS_ONLY = "These buttons belong to whoever asked; use /ask or /search for your own."
EXPIRED = "These buttons have expired: ask again with /ask or /search."

Actions = dict[str, tuple[str, discord.ButtonStyle]]  # action: (label, style)


def new_key() -> str:
    """A key for one message's buttons: random, so that a key says nothing of another message's."""
    return secrets.token_hex(8)


def _custom_ids(components: list[Any]) -> set[str]:
    """The custom ids of ``components`` and of their children (an action row's buttons)."""
    found: set[str] = set()
    for component in components:
        if custom_id := getattr(component, "custom_id", None):
            found.add(custom_id)
        found |= _custom_ids(getattr(component, "children", []))
    return found


async def genuine(interaction: discord.Interaction, custom_id: str) -> bool:
    """Whether the press is of a button this bot put on the message the interaction carries (Discord's
    copy of it, which a client cannot change); if not, the presser is told the buttons have expired."""
    message, me = interaction.message, interaction.client.user
    if (
        message is not None
        and me is not None
        and message.author.id == me.id
        and custom_id in _custom_ids(message.components)
    ):
        return True
    log.info("refused a forged press of %r by user %s", custom_id, interaction.user.id)
    await interaction.response.send_message(EXPIRED, ephemeral=True)
    return False


@dataclass(frozen=True)
class Kept(Generic[T]):
    """What a message's buttons act on, with who asked (None: unknown, see `Recent.recall`)."""

    asker: int | None
    value: T


class Recent(OrderedDict[tuple[str | None, str], Kept[T]]):
    """What one kind of button acts on, by scope (server, or None for DMs) and saved question key: the
    last `RECENT` in memory, so that a press need not compute them again."""

    def remember(self, scope: str | None, key: str, kept: Kept[T]) -> None:
        self[scope, key] = kept
        self.move_to_end((scope, key))
        while len(self) > RECENT:
            self.popitem(last=False)

    async def recall(
        self,
        interaction: discord.Interaction,
        key: str,
        compute: Callable[[NewsBot, SavedQuestion], Awaitable[T]],
        *,
        private: bool,
        owner_id: int | None = None,
    ) -> T:
        """The value under ``key`` in the presser's scope: from memory, else computed again from the
        saved question, after deferring (``private``: the answer will be a message only the presser
        sees), as that may take longer than the 3 seconds Discord gives, and within the question limits
        (`QuestionLimits.admit`), as /ask is.

        ``owner_id``: the owner the custom id names, for a button only its owner may press. The presser
        must be the asker the bot kept; the custom id's owner counts only for a question saved before
        askers were, and it sits on a message this bot sent (`genuine`)."""
        scope = scope_of(interaction.guild_id)
        kept = self.get((scope, key))
        if kept is not None:
            self.move_to_end((scope, key))
            _check_owner(interaction, kept.asker, owner_id)
            return kept.value
        await interaction.response.defer(ephemeral=private, thinking=private)
        bot = cast("NewsBot", interaction.client)
        saved = await bot.run_engine(
            saved_question, bot.engine.store, key, scope, keep_days=bot.engine.settings.saved_question_days
        )
        if saved is None:
            raise UserError(EXPIRED)
        asker = int(saved.asker) if saved.asker else None
        _check_owner(interaction, asker, owner_id)
        bot.limits.admit(interaction.user.id, interaction.guild_id)
        value = await compute(bot, saved)
        self.remember(scope, key, Kept(asker, value))
        return value


def _check_owner(interaction: discord.Interaction, asker: int | None, owner_id: int | None) -> None:
    """`UserError` (`OWNERS_ONLY`) unless the presser owns the buttons: see `Recent.recall`."""
    if owner_id is not None and interaction.user.id != (owner_id if asker is None else asker):
        raise UserError(OWNERS_ONLY)


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
    """A button only its owner may press. A kind of button names its custom id ``prefix``, its
    ``actions`` and those of them answered by a message only the presser sees (``private``), computes
    what it pages through from a saved question (`compute`), and acts on it (`press`)."""

    prefix: ClassVar[str]
    actions: ClassVar[Actions]
    private: ClassVar[frozenset[str]]
    recent: ClassVar[Recent[Any]]

    def __init_subclass__(cls, *, prefix: str, actions: Actions, private: Iterable[str] = ()) -> None:
        cls.prefix, cls.actions, cls.private, cls.recent = prefix, actions, frozenset(private), Recent()
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
    async def keep(cls, bot: NewsBot, text: str, filters: Filters, asker_id: int, value: T) -> str:
        """Save the question ``text`` asked by ``asker_id`` under ``filters``, so that its buttons
        still work after a restart, and keep ``value`` in memory for them; the question's key."""
        key = new_key()
        keep_days = bot.engine.settings.saved_question_days
        await bot.run_engine(
            save_question, bot.engine.store, key, text, filters, str(asker_id), keep_days=keep_days
        )
        cls.recent.remember(filters.scope, key, Kept(asker_id, value))
        return key

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await genuine(interaction, self.custom_id)

    async def callback(self, interaction: discord.Interaction) -> None:
        await pressed(interaction, self._press)

    async def _press(self, interaction: discord.Interaction) -> None:
        """`press` with what the buttons page through (`Recent.recall`), if the presser owns them."""
        value = await self.recent.recall(
            interaction,
            self.state.key,
            self.compute,
            private=self.action in self.private,
            owner_id=self.state.owner_id,
        )
        await self.press(interaction, value)

    async def press(self, interaction: discord.Interaction, value: T) -> None:
        raise NotImplementedError

    async def compute(self, bot: NewsBot, saved: SavedQuestion) -> T:
        raise NotImplementedError


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
