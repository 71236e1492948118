"""`newsbot ingest` and `newsbot stats`: adding articles, and what the index holds."""

from __future__ import annotations

import argparse
import json
import sys

from bot.cli.engine import open_engine
from bot.cli.parents import Parents, Subparsers
from bot.reports import ingest_summary
from index import Settings


def add_ingest(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "ingest", parents=[parents.common, parents.scoped], help="add articles from files, folders or URLs"
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help=".txt .md .html .json .jsonl files, folders, URLs"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_ingest)


def add_stats(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser("stats", parents=[parents.common, parents.scoped], help="what the index holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_stats)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    from index import PRESPLIT_WORKERS as WORKERS  # this main module is guarded, as spawned workers need

    report = engine.ingest_sources(
        args.paths, progress=sys.stderr.isatty(), scope=args.guild, split_workers=WORKERS
    )
    for problem in report.problems:
        print(f"{problem.origin}: {problem.message}", file=sys.stderr)
    print(json.dumps(report.to_dict()) if args.json else ingest_summary(report))
    return 0 if report.stored or report.skipped else 1


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = open_engine(settings).stats(args.guild)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"data dir:  {stats['data_dir']}   scope: {stats['scope']}")
    if stats["database"]:
        print(f"database:  {stats['database']}")
    print(f"articles:  {stats['articles']}   passages: {stats['passages']}   sentences: {stats['sentences']}")
    print(f"published: {stats['published']['first'] or '?'} to {stats['published']['last'] or '?'}")
    print(f"last ingest: {stats['last_ingest'] or 'never'}")
    print(f"model:     {stats['index']['model'] or '(none yet)'} (dim {stats['index']['dim'] or '?'})")
    print("outlets:   " + (", ".join(f"{o['source']} ({o['articles']})" for o in stats["outlets"]) or "none"))
    return 0
