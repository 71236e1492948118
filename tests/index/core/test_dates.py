"""The one dates module: what each reading of a published date gives, and where they differ."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from index.core import dates
from index.core.dates import (
    MONTHS,
    day_of,
    is_iso_date,
    is_later,
    iso_day,
    month_end,
    normalise_date,
    now_iso,
    published_at,
    stated_day,
    stored_time,
    utc_iso,
)


@pytest.mark.parametrize(
    ("published", "whole", "stated"),
    [
        ("2024-05-10", date(2024, 5, 10), date(2024, 5, 10)),
        ("2024-05-10T23:30:00-05:00", date(2024, 5, 10), date(2024, 5, 10)),  # its own zone's day
        ("2024-05-10T25:00", None, date(2024, 5, 10)),  # no such hour: the day is still stated
        ("2024-05-10 and more", None, date(2024, 5, 10)),
        ("last week", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_day_of_reads_the_whole_date_and_stated_day_its_first_ten_characters(
    published: str | None, whole: date | None, stated: date | None
) -> None:
    assert day_of(published) == whole
    assert stated_day(published) == stated


def test_a_published_date_without_a_zone_is_read_as_utc() -> None:
    assert published_at("2024-05-10T08:00") == datetime(2024, 5, 10, 8, tzinfo=UTC)
    assert published_at("2024-05-10T08:00+02:00") == datetime(2024, 5, 10, 6, tzinfo=UTC)
    assert published_at("Friday") is None


def test_a_day_is_no_later_than_a_time_on_the_same_day() -> None:
    assert not is_later("2024-05-10T18:30", "2024-05-10")
    assert is_later("2024-05-10T18:30", "2024-05-10T09:00")
    assert is_later("2024-05-11", "2024-05-10T23:59")
    assert not is_later(None, "2024-05-10")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jan 14, 2022", "2022-01-14"),
        ("14 January 2022 10:30", "2022-01-14T10:30:00"),
        (" 2022-01-14T10:00:00Z ", "2022-01-14T10:00:00+00:00"),
        ("March 3", None),
        ("   ", None),
        (None, None),
    ],
)
def test_normalise_date_writes_what_is_iso_date_accepts(value: str | None, expected: str | None) -> None:
    assert normalise_date(value) == expected
    assert expected is None or is_iso_date(expected)


def test_iso_day_names_the_option_it_refuses() -> None:
    assert iso_day(" 2024-02-29 ") == "2024-02-29"
    for text in ("2023-02-29", "2024-2-1", "01/02/2024"):
        with pytest.raises(ValueError, match="`since` must be a date written year-month-day"):
            iso_day(text, "since")


def test_month_end_knows_leap_years() -> None:
    assert [month_end(date(2024, m, 1)).day for m in (1, 2, 4, 12)] == [31, 29, 30, 31]
    assert month_end(date(2023, 2, 1)) == date(2023, 2, 28)


def test_the_stores_own_times_read_back_as_written() -> None:
    moment = datetime(2024, 5, 10, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc_iso(moment) == "2024-05-10T06:00:00+00:00"
    assert stored_time(utc_iso(moment)) == moment
    assert utc_iso(None) is None and stored_time(None) is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", now_iso())


def test_month_names_are_listed_once() -> None:
    from index.news import recency, stories
    from index.search import cues

    assert MONTHS[0] == "january" and len(MONTHS) == 12
    assert recency.MONTHS is dates.MONTHS
    assert set(MONTHS) | set(dates.WEEKDAYS) <= stories._NOT_NAMES
    assert all(cues.DATE.search(f"on {name.capitalize()} 3") for name in (*MONTHS, *dates.WEEKDAYS))
