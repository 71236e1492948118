"""`newsbot reindex` and `newsbot forget`: re-embedding everything, and deleting one article."""

from __future__ import annotations

import argparse
import sys

from bot.cli.engine import open_engine
from bot.cli.parents import Parents, Subparsers
from index import EngineError, NotFoundError, Settings


def add_reindex(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "reindex", parents=[parents.common], help="re-embed everything with the configured model"
    )
    p.set_defaults(handler=_reindex)


def add_forget(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "forget", parents=[parents.common, parents.scoped], help="delete an article by its id or URL"
    )
    p.add_argument("article", metavar="ID|URL")
    p.set_defaults(handler=_forget)


def _reindex(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    sentences = engine.reindex(progress=sys.stderr.isatty())
    print(
        f"re-embedded {sentences} sentences with {engine.model_name}; {engine.index.count} passages indexed"
    )
    return 0


def _forget(args: argparse.Namespace, settings: Settings) -> int:
    try:
        title = open_engine(settings).forget(args.article, args.guild)
    except NotFoundError as exc:
        raise EngineError(
            f"{exc}: check it (ids are shown when articles are added, and by `newsbot ask --json`)"
        ) from None
    print(f"forgot {title!r}")
    return 0
