"""Dates as the commands take them: YYYY-MM-DD, checked by the engine's own `Filters` rules."""

from __future__ import annotations

from bot.errors import UserError
from index import Filters, iso_day


def parse_day(text: str, option: str = "date") -> str:
    """The day as YYYY-MM-DD; a `UserError` naming ``option`` when it is not a real date in that form."""
    try:
        return iso_day(text, option)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def check_range(since: str | None, until: str | None) -> None:
    try:
        Filters(since=since, until=until)
    except ValueError as exc:
        raise UserError(str(exc)) from None
