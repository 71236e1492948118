"""Replies to the admin commands: what an ingest added, and the feeds' health."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.reports import ingest_summary, plural
from bot.text import escape, join_lines, one_line, trim
from index import Feed, IngestReport, InputProblem

TITLE_SHOWN = 150
ERROR_SHOWN = 200


def ingest_message(report: IngestReport, heading: str | None = None) -> str:
    head = "Added: " if report.stored else "Nothing added: "
    lines = [heading] if heading else []
    lines.append(head + ingest_summary(report))
    lines += [
        f"• {trim(escape(one_line(title)), TITLE_SHOWN)} (id: {escape(one_line(article_id))})"
        for title, article_id in zip(report.titles, report.article_ids, strict=True)
    ]
    if report.problems:
        lines.append("Problems:")
        lines += [problem_line(p) for p in report.problems]
    return join_lines(lines)


def problem_line(problem: InputProblem) -> str:
    return f"• {escape(problem.origin)}: {escape(problem.message)}"


def _when(moment: datetime | None) -> str:
    return discord.utils.format_dt(moment, "R") if moment else "never"


def _error(text: str | None) -> str:
    return trim(escape(one_line(text or "unknown error")), ERROR_SHOWN)


def feed_line(feed: Feed) -> str:
    """A feed's health: how its last poll went, and how many of its items are stored or failing."""
    name = f" ({escape(one_line(feed.name))})" if feed.name else ""
    if feed.consecutive_failures:
        health = (
            f"failing ×{feed.consecutive_failures}: {_error(feed.last_error)}; "
            f"last poll {_when(feed.last_polled_at)}, last good poll {_when(feed.last_ok_at)}"
        )
    else:
        health = f"ok; last poll {_when(feed.last_polled_at)}"
    items = f"{plural(feed.items_stored, 'item', grouped=True)} stored"
    if feed.items_failing:
        items += f", {feed.items_failing} failing (e.g. {_error(feed.item_error)})"
    return f"• <{discord.utils.escape_mentions(feed.url)}>{name}: {health}; {items}"


def feeds_message(feeds: list[Feed]) -> str:
    if not feeds:
        return "I follow no feeds yet: add one with /feeds add."
    return join_lines([f"I follow {len(feeds)} feeds:", *(feed_line(f) for f in feeds)])


def polling_note(minutes: float) -> str:
    if minutes:
        return f"I check the feeds every {minutes:g} minutes."
    return "Feed polling is off on this bot (NEWSBOT_FEED_POLL_MINUTES=0): run `newsbot feeds poll` to fetch."
