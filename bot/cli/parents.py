"""What the commands share on their command lines: the parent parsers and the argument types."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index import MAX_TOP_K

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = Any


@dataclass(frozen=True)
class Parents:
    """The options every command takes (`common`), those of commands run in one server's scope
    (`scoped`), and the article filters of questions and searches (`filters`, scoped too)."""

    common: argparse.ArgumentParser
    scoped: argparse.ArgumentParser
    filters: argparse.ArgumentParser

    @classmethod
    def make(cls) -> Parents:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--data-dir", type=Path, help="where the index lives (default: NEWSBOT_DATA_DIR)")
        common.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
        scoped = argparse.ArgumentParser(add_help=False)
        scoped.add_argument(
            "--guild",
            type=guild,
            metavar="ID",
            help="in this Discord server's scope: its own news beside the shared (default: shared news only)",
        )
        filters = argparse.ArgumentParser(add_help=False, parents=[scoped])
        filters.add_argument("--outlet", help="only articles from this outlet")
        add_dates(filters)
        return cls(common, scoped, filters)


def add_dates(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    parser.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")


def guild(text: str) -> str:
    """A Discord server id (a snowflake), as the engine names its scope."""
    if not text.strip().isdecimal():
        raise argparse.ArgumentTypeError(f"must be a Discord server id (digits only), not {text!r}")
    return str(int(text))


def top_k(text: str) -> int:
    """-k as the engine takes it; argparse shows the message and exits 2 otherwise."""
    if not (text.strip().isdecimal() and 1 <= int(text) <= MAX_TOP_K):
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_TOP_K}, not {text!r}")
    return int(text)
