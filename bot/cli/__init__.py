"""The `newsbot` command line: ingest, ask, search, stats (and the bot's serve/sync).

One module per command family, each adding its subcommands and their handlers; `parents` holds the
options they share. Nothing here loads the engine or discord.py until a command runs: `newsbot --help`
needs neither.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.cli import ask, evaluate, feeds, ingest, maintenance, migrate, serve, trend, watch
from bot.cli.parents import Parents, Subparsers
from index import EngineError, QuestionError, Settings

# In the order `newsbot --help` lists the commands.
_COMMANDS: tuple[Callable[[Subparsers, Parents], None], ...] = (
    ingest.add_ingest,
    ask.add_ask,
    ask.add_search,
    evaluate.add_eval,
    feeds.add_feeds,
    maintenance.add_reindex,
    maintenance.add_forget,
    migrate.add_migrate,
    ingest.add_stats,
    trend.add_trend,
    trend.add_feedback,
    watch.add_watch,
    serve.add_serve,
    serve.add_sync,
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = Settings(**overrides)
    try:
        return args.handler(args, settings)
    except QuestionError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parents = Parents.make()
    parser = argparse.ArgumentParser(
        prog="newsbot", description="Answers questions by quoting the news.", parents=[parents.common]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub, parents)
    return parser
