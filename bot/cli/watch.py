"""`newsbot watch add|list|remove|check`: standing queries on shared news."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from bot.cli.engine import open_engine
from bot.cli.parents import Parents, Subparsers
from bot.cli.quotes import citation, quoted
from index import Settings

if TYPE_CHECKING:
    from index import Watches


def add_watch(sub: Subparsers, parents: Parents) -> None:
    common = [parents.common]
    watch = sub.add_parser(
        "watch", help="standing queries on shared news, checked against new articles (servers: /watch)"
    )
    watch_sub = watch.add_subparsers(dest="watch_command", required=True)
    p = watch_sub.add_parser("add", parents=common, help="watch a query from now on")
    p.add_argument("query", nargs="+", metavar="QUERY")
    p.set_defaults(handler=_add)
    p = watch_sub.add_parser("list", parents=common, help="the watches")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)
    p = watch_sub.add_parser("remove", parents=common, help="stop a watch")
    p.add_argument("id", type=int, metavar="ID", help="the watch's number, as `newsbot watch list` shows it")
    p.set_defaults(handler=_remove)
    p = watch_sub.add_parser(
        "check", parents=common, help="per watch, the best quote of the articles new since its last check"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per match")
    p.set_defaults(handler=_check)


def _watches(settings: Settings) -> Watches:
    from index import Watches

    return Watches(open_engine(settings))


def _add(args: argparse.Namespace, settings: Settings) -> int:
    watch = _watches(settings).add(" ".join(args.query))
    print(f"watching “{watch.query}” (watch {watch.id}): `newsbot watch check` prints new articles on it")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    watches = _watches(settings).list()
    if args.json:
        print(json.dumps([asdict(w) for w in watches], ensure_ascii=False, indent=2))
        return 0
    if not watches:
        print("No watches yet: `newsbot watch add QUERY`.")
    for watch in watches:
        print(f"{watch.id}  “{watch.query}”  since {watch.created_at[:10]}")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    watch = _watches(settings).remove(args.id)
    if watch is None:
        print(f"newsbot: there is no watch {args.id}; see `newsbot watch list`", file=sys.stderr)
        return 1
    print(f"stopped watching “{watch.query}”")
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    """Each watch's articles are checked once: a second check reports only what came in since."""
    watches = _watches(settings)
    checked = watches.list()
    matches = [m for m in map(watches.check, checked) if m is not None]
    for match in matches:
        watch, answer = match.watch, match.answer
        if args.json:
            line = {"watch": watch.id, "query": watch.query, "answer": answer.to_dict()}
            print(json.dumps(line, ensure_ascii=False))
        else:
            print(f"watch {watch.id} “{watch.query}”:\n{quoted(answer.quote)}")
            print(f"{citation(answer.article)}\n")
    if not args.json:
        print(f"{len(matches)} of {len(checked)} watches matched new articles")
    return 0
