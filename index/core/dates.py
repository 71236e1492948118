"""Dates, in one place: reading a published date as given, the day and moment it states, month
names, and the clock the store writes.

Articles keep their published date as ISO 8601 text, a day ("2005-03-01") or a datetime
("2005-03-01T23:00:00-05:00"): `normalise_date` writes it so from whatever an input gave. Everything
else reads that text back. Its day is the day it states: 2005-03-01T23:00-05:00 is on 2005-03-01,
never converted to another zone's day, so that a filter, a trend and a recency cue agree with the
article's own dateline.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil import parser as dateparser

MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# dateutil fills what a date string lacks from this; year 1 thus means "no year given".
_NO_DATE = datetime(1, 1, 1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T.+)?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def normalise_date(value: Any) -> str | None:
    """An ISO 8601 date (or datetime, when a time is given) for ``value``; None when it is none, or
    cannot be read as a date with a year ("last week", "Friday"): a guess would mislead."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = dateparser.parse(text, default=_NO_DATE)
    except (ValueError, OverflowError):
        parsed = _NO_DATE
    if parsed.year == _NO_DATE.year:
        return None
    if parsed.tzinfo is None and not (parsed.hour or parsed.minute or parsed.second or parsed.microsecond):
        return parsed.date().isoformat()
    return parsed.isoformat()


def is_iso_date(text: str) -> bool:
    """Whether ``text`` is already an ISO 8601 date or datetime, as `normalise_date` writes them."""
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def iso_day(text: str, name: str = "date") -> str:
    """``text`` as YYYY-MM-DD; a ValueError naming the option ``name`` unless it is a real day so written."""
    text = text.strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(
            f"`{name}` must be a date written year-month-day, like 2024-03-01; got “{text[:40]}”."
        ) from None


def published_at(published: str | None) -> datetime | None:
    """An article's ISO published date or datetime as an aware datetime (UTC when it names no zone)."""
    if not published:
        return None
    try:
        moment = datetime.fromisoformat(published)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_of(published: str | None) -> date | None:
    """The day a whole ISO published date or datetime states; None unless all of it reads as one."""
    moment = published_at(published)
    return None if moment is None else moment.date()


def stated_day(published: str | None) -> date | None:
    """The day the first ten characters state, whatever follows them: the store's own rule (its SQL
    ``published_day`` reads ``substr(published, 1, 10)``), so a count made in Python agrees with a
    range filtered in SQL. Unlike `day_of`, "2024-05-10T25:00" (no such hour) still gives 2024-05-10."""
    try:
        return date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None


def is_later(published: str | None, than: str | None) -> bool:
    """Whether ``published`` is after ``than``: by the clock when both give a time, by the day when
    either is a day alone (a day's article is no newer than the same day's at 18:30)."""
    a, b = published_at(published), published_at(than)
    if a is None or b is None:
        return False
    return a > b if _timed(published) and _timed(than) else a.date() > b.date()


def _timed(published: str | None) -> bool:
    return "T" in (published or "")


def month_end(first: date) -> date:
    """The last day of ``first``'s month."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def now_iso() -> str:
    """Now, in UTC to the second, as the store writes its own times (ingested_at, created_at)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def utc_iso(moment: datetime | None) -> str | None:
    """An aware ``moment`` as the store keeps its own times: ISO 8601 in UTC; None for none."""
    return moment.astimezone(UTC).isoformat() if moment else None


def stored_time(value: str | None) -> datetime | None:
    """A time the store wrote (`utc_iso`, `now_iso`) read back; None for none."""
    return datetime.fromisoformat(value) if value else None
