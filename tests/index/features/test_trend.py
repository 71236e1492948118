"""Counting a query's coverage over time by outlet: the buckets, and which articles match."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.features.trend import BARS, OTHER, Dated, count, trend_of
from index.storage.embed import SentenceTransformerEmbedder
from index.storage.store import Filters

ARTICLES = Path(__file__).resolve().parents[2] / "fixtures" / "trend" / "articles.jsonl"


def test_days_without_articles_are_counted_as_none() -> None:
    trend = count("strike", [Dated("Herald", date(2024, 5, 1)), Dated("Herald", date(2024, 5, 4))])
    assert trend.bucket == "day" and trend.starts == [date(2024, 5, d) for d in range(1, 5)]
    assert trend.counts == {"Herald": [1, 0, 0, 1]}


def test_a_long_span_is_counted_by_week_from_mondays() -> None:
    days = [date(2024, 1, 3), date(2024, 1, 7), date(2024, 1, 8), date(2024, 3, 1)]  # Wed, Sun, Mon, Fri
    trend = count("budget", [Dated("Times", day) for day in days])
    assert trend.bucket == "week" and trend.starts[0] == date(2024, 1, 1)
    assert all(start.weekday() == 0 for start in trend.starts) and trend.starts[-1] == date(2024, 2, 26)
    assert trend.counts["Times"][:2] == [2, 1] and trend.counts["Times"][-1] == 1 and trend.total == 4
    assert (trend.first, trend.last) == (date(2024, 1, 3), date(2024, 3, 1))


@pytest.mark.parametrize(
    ("first", "last", "bucket", "start"),
    [
        (date(2024, 5, 1), date(2024, 6, 14), "day", date(2024, 5, 1)),  # 45 days
        (date(2023, 1, 15), date(2024, 6, 10), "month", date(2023, 1, 1)),
        (date(2015, 2, 10), date(2024, 6, 10), "quarter", date(2015, 1, 1)),
        (date(1990, 7, 4), date(2024, 6, 10), "year", date(1990, 1, 1)),
        (date(1883, 7, 4), date(2024, 6, 10), "decade", date(1880, 1, 1)),
        (date.min, date.max, "century", date.min),  # the calendar's ends: no bucket starts past them
    ],
)
def test_a_longer_span_gets_the_finest_bucket_that_keeps_the_bars_few(
    first: date, last: date, bucket: str, start: date
) -> None:
    trend = count("harbour", [Dated("Times", first), Dated("Times", last)])
    assert trend.bucket == bucket and trend.starts[0] == start and len(trend.starts) <= max(BARS, 100)
    assert trend.counts["Times"][0] == 1 and trend.counts["Times"][-1] == 1
    assert all(
        a + timedelta(days=n) == b
        for a, n, b in zip(trend.starts, trend.days, trend.starts[1:], strict=False)
    )
    assert trend.starts[-1] + timedelta(days=trend.days[-1] - 1) >= last  # the last bar reaches the last day


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("1950-01-01", "2024-12-31"),
        ("1880-01-01", "2024-12-31"),
        ("0001-01-01", "9990-01-01"),
        ("0001-01-01", "9999-12-31"),
    ],
)
def test_any_date_range_is_counted_in_few_buckets_at_once(since: str, until: str) -> None:
    low, high = date.fromisoformat(since), date.fromisoformat(until)
    step = max((high - low) // 400, timedelta(days=1))
    days = [low + step * n for n in range((high - low) // step)] + [high]
    articles = [Dated(f"Outlet {n % 5}", day) for n, day in enumerate(days)]
    began = time.process_time()
    trend = count("harbour", articles, since, until)
    assert time.process_time() - began < 1.0
    assert len(trend.starts) <= max(BARS, 100) and trend.total == len(articles)
    assert (trend.first, trend.last) == (low, high)


def test_dates_asked_far_wider_than_the_articles_narrow_to_them() -> None:
    articles = [Dated("Herald", date(2024, 3, 1)), Dated("Herald", date(2024, 3, 5))]
    trend = count("ferry", articles, since="0001-01-01", until="9999-12-31")
    assert trend.bucket == "day" and trend.starts == [date(2024, 3, d) for d in range(1, 6)]
    assert (trend.total, trend.first, trend.last) == (2, date(2024, 3, 1), date(2024, 3, 5))


def test_small_outlets_are_merged_into_other_beyond_five() -> None:
    day = date(2024, 5, 1)
    five = [Dated(name, day) for n, name in enumerate("ABCDE") for _ in range(5 - n)]
    assert list(count("q", five).counts) == list("ABCDE")  # five fit: no "other"
    trend = count("q", [*five, Dated("F", day)])
    assert list(trend.counts) == ["A", "B", "C", "D", OTHER] and trend.counts[OTHER] == [2]


def test_the_date_range_bounds_the_buckets_and_undated_articles_are_told_apart() -> None:
    articles = [Dated("Herald", date(2024, 5, 2)), Dated("Herald", date(2024, 6, 30)), Dated("Herald", None)]
    trend = count("strike", articles, since="2024-05-01", until="2024-05-03")
    assert trend.starts == [date(2024, 5, 1) + timedelta(days=d) for d in range(3)]
    assert trend.counts == {"Herald": [0, 1, 0]} and trend.undated == 1
    assert (trend.first, trend.last) == (date(2024, 5, 1), date(2024, 5, 3))


def test_nothing_to_chart_tells_no_match_from_no_date() -> None:
    nothing = count("quantum", [])
    assert (nothing.total, nothing.undated, nothing.starts, nothing.first) == (0, 0, [], None)
    undated = count("quantum", [Dated("Herald", None), Dated("Herald", None)])
    assert (undated.total, undated.undated) == (0, 2)


@pytest.fixture(scope="module")
def strike_engine(
    tmp_path_factory: pytest.TempPathFactory, model: SentenceTransformerEmbedder
) -> Iterator[Engine]:
    """A ferry strike over five days from two outlets (one story carried by a third, as a wire copy),
    an undated explainer, two unrelated stories, and server 7's own article about the strike."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("trend"), rerank=False, _env_file=None)
    engine = Engine(settings, embedder=model)
    report = engine.ingest_paths([ARTICLES])
    assert (report.new, report.copies) == (7, 1), report.problems
    own = ArticleIn(
        title="Our view on the ferry strike",
        text="The ferry strike has cut our members off from the mainland. We back the crews.",
        source="Island Newsletter",
        published="2024-05-04",
    )
    assert engine.ingest([own], scope="7").new == 1
    yield engine
    engine.close()


def test_matching_articles_are_counted_by_outlet_with_their_wire_copies(strike_engine: Engine) -> None:
    trend = trend_of(strike_engine, "ferry strike", Filters())
    assert trend.starts == [date(2024, 5, d) for d in range(1, 6)]
    assert trend.counts == {
        "Coast Times": [0, 1, 1, 0, 0],
        "Harbour Herald": [1, 0, 0, 0, 1],
        "Wire Daily": [0, 1, 0, 0, 0],  # the copy, on its own day
    }
    assert trend.undated == 1  # the explainer; the library and the seals do not match


def test_a_server_sees_its_own_articles_and_no_other_server_does(strike_engine: Engine) -> None:
    own = trend_of(strike_engine, "ferry strike", Filters(scope="7")).counts
    assert own["Island Newsletter"] == [0, 0, 0, 1, 0]
    assert "Island Newsletter" not in trend_of(strike_engine, "ferry strike", Filters(scope="8")).counts


def test_dates_restrict_the_search(strike_engine: Engine) -> None:
    trend = trend_of(strike_engine, "ferry strike", Filters(since="2024-05-02", until="2024-05-03"))
    assert trend.counts == {"Coast Times": [1, 1], "Wire Daily": [1, 0]} and trend.undated == 0


def test_an_unrelated_query_matches_nothing(strike_engine: Engine) -> None:
    trend = trend_of(strike_engine, "quantum computing breakthrough", Filters())
    assert (trend.total, trend.undated) == (0, 0)


def test_the_score_floor_and_the_stories_searched_are_settings(
    strike_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, everything = strike_engine.settings, trend_of(strike_engine, "ferry strike", Filters()).total
    monkeypatch.setattr(strike_engine, "settings", settings.model_copy(update={"trend_min_score": 100.0}))
    assert trend_of(strike_engine, "ferry strike", Filters()).total == 0
    monkeypatch.setattr(strike_engine, "settings", settings.model_copy(update={"trend_candidates": 1}))
    assert 0 < trend_of(strike_engine, "ferry strike", Filters()).total < everything
