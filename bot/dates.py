"""Dates as the commands take them: YYYY-MM-DD, the form the engine's filters compare with."""

from __future__ import annotations

import datetime
import re

from bot.errors import UserError

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(text: str, option: str = "date") -> str:
    """The day as YYYY-MM-DD; a `UserError` naming ``option`` when it is not a real date in that form."""
    text = text.strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UserError(
            f"`{option}` must be a date written year-month-day, like 2024-03-01; got “{text[:40]}”."
        ) from None


def check_range(since: str | None, until: str | None) -> None:
    if since and until and since > until:
        raise UserError(f"`since` ({since}) is after `until` ({until}): nothing can be in between.")
