"""`newsbot feeds add|list|remove|poll`: the RSS/Atom feeds polled for new articles."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from typing import Any

from bot.cli.engine import open_engine
from bot.cli.parents import Parents, Subparsers
from bot.reports import poll_summary
from index import EngineError, Settings


def add_feeds(sub: Subparsers, parents: Parents) -> None:
    scoped = [parents.common, parents.scoped]
    feeds = sub.add_parser("feeds", help="RSS/Atom feeds polled for new articles")
    feed_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    p = feed_sub.add_parser("add", parents=scoped, help="follow a feed")
    p.add_argument("url")
    p.add_argument("--name", help="a name to show for the feed")
    p.set_defaults(handler=_add)
    p = feed_sub.add_parser("list", parents=scoped, help="the feeds and their health")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)
    p = feed_sub.add_parser("remove", parents=scoped, help="stop following a feed")
    p.add_argument("url")
    p.set_defaults(handler=_remove)
    p = feed_sub.add_parser(
        "poll",
        parents=scoped,
        help="one pass over all feeds (with --guild: that server's), ingesting new items",
    )
    p.add_argument("--force", action="store_true", help="also poll feeds that are backing off after errors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_poll)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        feed = open_engine(settings).feeds.add(args.url, args.name, scope=args.guild)
    except ValueError as exc:
        raise EngineError(str(exc)) from exc
    print(f"following {feed.url}" + (f" ({feed.name})" if feed.name else "") + "; run `newsbot feeds poll`")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    feeds = open_engine(settings).feeds.list(args.guild)
    if args.json:
        print(json.dumps([_jsonable(asdict(f)) for f in feeds], indent=2))
        return 0
    if not feeds:
        print("No feeds yet: `newsbot feeds add URL`.")
    for feed in feeds:
        health = (
            "ok"
            if not feed.consecutive_failures
            else f"failing ×{feed.consecutive_failures}: {feed.last_error}"
        )
        last = feed.last_ok_at.isoformat(timespec="minutes") if feed.last_ok_at else "never"
        print(f"{feed.url}  {feed.name or ''}\n    last ok: {last}; {health}")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    if open_engine(settings).feeds.remove(args.url, scope=args.guild):
        print(f"stopped following {args.url}")
        return 0
    print(f"newsbot: not following {args.url}; see `newsbot feeds list`", file=sys.stderr)
    return 1


def _poll(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    report = asyncio.run(engine.poll_feeds(args.force, scope=args.guild, every_scope=args.guild is None))
    if args.json:
        print(json.dumps(_jsonable(asdict(report)), indent=2))
    else:
        for result in report.failed:
            print(f"{result.url}: {result.error}", file=sys.stderr)
        print(poll_summary(report))
    return 1 if report.feeds and len(report.failed) == len(report.feeds) else 0


def _jsonable(value: Any) -> Any:
    """A dataclass's fields as JSON takes them: dates and times in ISO 8601."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value
