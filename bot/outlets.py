"""The outlets the index holds, for suggestions as the user types and for checking what they typed."""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import UserError
from bot.text import CHOICE_LIMIT, CHOICE_TEXT_LIMIT, escape


class OutletList:
    """A snapshot of the engine's outlets (most articles first), refreshed after every ingest.

    Kept in memory because autocomplete must answer within Discord's 3 seconds even while every
    engine thread is busy answering questions.
    """

    def __init__(self, names: Sequence[str] = ()) -> None:
        self.names = list(names)

    def matching(self, typed: str, limit: int = CHOICE_LIMIT) -> list[str]:
        """Outlets starting with what was typed, then those containing it, ignoring case."""
        typed = typed.strip().casefold()
        usable = [n for n in self.names if 0 < len(n) <= CHOICE_TEXT_LIMIT]
        starting = [n for n in usable if n.casefold().startswith(typed)]
        containing = [n for n in usable if typed in n.casefold() and n not in starting]
        return (starting + containing)[:limit]

    def resolve(self, typed: str) -> str:
        """The outlet's stored spelling; a `UserError` when the index has no articles from it."""
        wanted = typed.strip().casefold()
        for name in self.names:
            if name.casefold() == wanted:
                return name
        known = ", ".join(escape(n) for n in self.names[:5]) or "none yet"
        raise UserError(
            f"I have no articles from “{escape(typed.strip()[:100])}”. "
            f"Pick an outlet from the suggestions as you type (some I know: {known}); see /coverage."
        )
