"""The engine as the commands open it, and their filters as the engine takes them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from index import EngineError, QuestionError, Settings

if TYPE_CHECKING:  # the engine is imported on demand: `newsbot --help` needs none of it
    from index import Engine, Filters


def open_engine(settings: Settings) -> Engine:
    from index import Engine

    return Engine(settings)


def engine_with_news(settings: Settings) -> Engine:
    """The engine for questions. A data dir with nothing ingested (often a mistyped path) would only
    ever say the news doesn't say: it is an error saying how to ingest, and is not created."""
    opens = settings.database_url or settings.db_path.exists() or settings.data_dir.is_file()
    engine = open_engine(settings) if opens else None
    if engine is not None and engine.store.count("articles"):
        return engine
    if engine is not None:
        engine.close()
    raise EngineError(
        f"nothing has been ingested into {settings.data_dir}: add articles with "
        f"`newsbot ingest --data-dir {settings.data_dir} PATH...` (files, folders or URLs), "
        "or check --data-dir / NEWSBOT_DATA_DIR"
    )


def filters_of(args: argparse.Namespace) -> Filters:
    """--outlet, --since, --until and --guild; a bad date is a `QuestionError` naming its flag."""
    from index import Filters

    try:
        return Filters(outlet=args.outlet, since=args.since, until=args.until, scope=args.guild)
    except ValueError as exc:
        raise QuestionError(str(exc).replace("`since`", "--since").replace("`until`", "--until")) from None
