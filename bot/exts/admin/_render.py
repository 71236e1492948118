"""Replies to the admin commands: what an ingest added, and the feeds' health."""

from __future__ import annotations

import discord

from bot.text import escape, join_lines, one_line, trim
from index.feeds import Feed
from index.ingest import IngestReport
from index.models import InputProblem

TITLE_SHOWN = 150


def ingest_message(report: IngestReport) -> str:
    head = "Added: " if report.stored else "Nothing added: "
    lines = [head + report.summary()]
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


def feed_line(feed: Feed) -> str:
    name = f" ({escape(one_line(feed.name))})" if feed.name else ""
    if feed.consecutive_failures:
        health = (
            f"failing ×{feed.consecutive_failures}: {escape(one_line(feed.last_error or 'unknown error'))}"
        )
    else:
        health = "ok"
    last = discord.utils.format_dt(feed.last_ok_at, "R") if feed.last_ok_at else "never"
    return f"• <{discord.utils.escape_mentions(feed.url)}>{name}: {health}; last good poll {last}"


def feeds_message(feeds: list[Feed]) -> str:
    if not feeds:
        return "I follow no feeds yet: add one with /feeds add."
    return join_lines([f"I follow {len(feeds)} feeds:", *(feed_line(f) for f in feeds)])


def polling_note(minutes: int) -> str:
    if minutes:
        return f"I check the feeds every {minutes} minutes."
    return "Feed polling is off on this bot (NEWSBOT_FEED_POLL_MINUTES=0): run `newsbot feeds poll` to fetch."
