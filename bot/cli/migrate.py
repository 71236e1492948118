"""`newsbot migrate --to postgresql://...`: moving a data dir's news into PostgreSQL."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli.parents import Parents, Subparsers
from index import Settings


def add_migrate(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "migrate",
        parents=[parents.common],
        help="copy the data dir into an empty PostgreSQL database (resumable, checked by counts)",
    )
    p.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="postgresql://user:password@host/db: empty, or holding an unfinished copy of this data dir",
    )
    p.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from index import migrate_to_postgres

    if not args.verbose:  # a line per table copied, for runs whose stderr is a log, not a terminal
        logging.getLogger("index").setLevel(logging.INFO)
    report = migrate_to_postgres(settings, args.to, progress=sys.stderr.isatty())
    width = max(len(c.table) for c in report.counts)
    for counted in report.counts:
        mark = "" if counted.equal else f"   DIFFERS (data dir {counted.source})"
        print(f"{counted.table:<{width}}  {counted.target:>10}{mark}")
    if report.differing:
        names = ", ".join(c.table for c in report.differing)
        print(
            f"newsbot: the copy differs from {settings.data_dir} in {names}: stop whatever writes to "
            "the data dir (newsbot serve, ingest) and run the same command again to go on",
            file=sys.stderr,
        )
        return 1
    print(
        f"copied {settings.data_dir} into PostgreSQL: every count matches; set NEWSBOT_DATABASE_URL to use it"
    )
    return 0
