"""The engine's reports in words, as `newsbot` prints them and the Discord replies show them."""

from __future__ import annotations

from datetime import date

from bot.reports import ingest_summary, plural, poll_summary, trend_summary
from index.core.models import InputProblem
from index.features.trend import Dated, count
from index.reading.feeds import FeedResult, PollReport
from index.reading.ingest import IngestReport


def test_plural_counts_one_apart_and_groups_thousands_only_when_asked() -> None:
    assert (plural(1, "item"), plural(0, "item"), plural(2, "web page")) == (
        "1 item",
        "0 items",
        "2 web pages",
    )
    assert (plural(1234, "item"), plural(1234, "item", grouped=True)) == ("1234 items", "1,234 items")


def test_an_ingest_in_one_line() -> None:
    report = IngestReport(new=2, updated=1, skipped=3, sentences=40, seconds=1.26)
    assert ingest_summary(report) == "2 new, 1 updated, 3 skipped articles; 40 sentences; 0 problems; 1.3 s"
    report.copies, report.problems = 4, [InputProblem("a.txt", "binary file")]
    assert ingest_summary(report) == (
        "2 new, 1 updated, 3 skipped articles, 4 wire copies of stories already indexed; "
        "40 sentences; 1 problem; 1.3 s"
    )


def test_a_poll_in_one_line() -> None:
    one = PollReport([FeedResult("a", new_items=1)])
    assert poll_summary(one) == "1 feed polled, 1 new item, 0 failed, 0 skipped while backing off"
    report = PollReport(
        [
            FeedResult("a", new_items=3, deferred=5),
            FeedResult("b", error="timed out"),
            FeedResult("c", skipped=True),
        ]
    )
    assert poll_summary(report) == (
        "2 feeds polled, 3 new items, 1 failed, 1 skipped while backing off, 5 items left for the next polls"
    )
    one.elsewhere = 2
    assert poll_summary(one).endswith("backing off, 2 polled by another process lately")


def test_a_trend_says_what_the_chart_shows() -> None:
    articles = [Dated("Herald", date(2024, 5, 2)), Dated("Herald", date(2024, 6, 30)), Dated("Herald", None)]
    trend = count("  strike ", articles, since="2024-05-01", until="2024-05-03")
    assert trend_summary(trend) == (
        "1 article about “strike”, 2024-05-01 to 2024-05-03, per day: Herald 1; 1 undated not shown."
    )
    two = count("ferry", [Dated("Herald", date(2024, 3, 1)), Dated("Times", date(2024, 3, 5))])
    assert (
        trend_summary(two)
        == "2 articles about “ferry”, 2024-03-01 to 2024-03-05, per day: Herald 1, Times 1."
    )


def test_nothing_to_chart_says_why() -> None:
    assert trend_summary(count("quantum", [])) == (
        "No articles match “quantum”: nothing to chart. Try other words or a wider date range."
    )
    undated = count("quantum", [Dated("Herald", None), Dated("Herald", None)])
    assert trend_summary(undated) == "The 2 articles matching “quantum” have no date: nothing to chart."
