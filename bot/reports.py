"""The engine's reports in words: one wording for the CLI and the Discord replies that share it.

The engine hands back plain data (an ingest's counts, a poll's results, a trend's buckets); saying
what they mean is the front ends'. No Discord here: `newsbot ingest` prints these lines too, and the
CLI loads neither discord.py nor the engine to do it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index import ArticleRef, IngestReport, PollReport, Trend


def plural(count: int, noun: str, *, grouped: bool = False) -> str:
    """``count`` ``noun``(s); ``grouped`` writes thousands with commas (1,234), as the feeds list does."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {noun}" + ("" if count == 1 else "s")


def day(published: str | None) -> str:
    """The day an article was published, as its citation shows it."""
    return (published or "")[:10] or "undated"


def newer_line(newer: Sequence[ArticleRef], title: str) -> str:
    """Where an answer's story went next: its newest coverage, ``title`` as the front end shows it
    (linked, escaped), and how many more there are."""
    more = len(newer) - 1
    return f"Newer coverage: {title}, {day(newer[0].published)}" + (f" and {more} more" if more else "")


def differing_line(figures: Iterable[tuple[str, str, str | None]]) -> str:
    """The figures an answer's sources disagree on: each (figure, outlet, published) as the front end
    shows the figure and the outlet."""
    stated = (f"{figure} ({source}, {day(published)})" for figure, source, published in figures)
    return "Sources differ: " + " vs ".join(stated)


def ingest_summary(report: IngestReport) -> str:
    """What an ingest stored, skipped and found wrong, and how long it took, on one line."""
    copies = f", {report.copies} wire copies of stories already indexed" if report.copies else ""
    return (
        f"{report.new} new, {report.updated} updated, {report.skipped} skipped articles{copies}; "
        f"{report.sentences} sentences; {plural(len(report.problems), 'problem')}; {report.seconds:.1f} s"
    )


def poll_summary(report: PollReport) -> str:
    """What one pass over the feeds did, on one line."""
    deferred = f", {report.deferred} items left for the next polls" if report.deferred else ""
    elsewhere = f", {report.elsewhere} polled by another process lately" if report.elsewhere else ""
    polled = plural(len(report.feeds) - report.skipped, "feed")
    return (
        f"{polled} polled, {plural(report.new_items, 'new item')}, {len(report.failed)} failed, "
        f"{report.skipped} skipped while backing off{deferred}{elsewhere}"
    )


def trend_summary(trend: Trend) -> str:
    """What the chart shows, or why there is none, in a sentence."""
    about = f"“{' '.join(trend.query.split())}”"
    if not trend.total:
        if trend.undated:
            return f"The {plural(trend.undated, 'article')} matching {about} have no date: nothing to chart."
        return f"No articles match {about}: nothing to chart. Try other words or a wider date range."
    outlets = ", ".join(f"{name} {sum(counts)}" for name, counts in trend.counts.items())
    span = f"{trend.first} to {trend.last}, per {trend.bucket}"
    undated = f"; {trend.undated} undated not shown." if trend.undated else "."
    return f"{plural(trend.total, 'article')} about {about}, {span}: {outlets}{undated}"
