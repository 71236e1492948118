"""`newsbot serve` and `newsbot sync`: running the Discord bot, and registering its slash commands."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from bot.cli.parents import Parents, Subparsers
from index import Settings

if TYPE_CHECKING:
    from bot.settings import BotSettings


def add_serve(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser("serve", parents=[parents.common], help="run the Discord bot (needs DISCORD_TOKEN)")
    p.add_argument(
        "--shard-ids",
        type=_shard_ids,
        metavar="IDS",
        help="run only these shards, e.g. 0,1, with --shard-count; other processes, on other machines "
        "and the same NEWSBOT_DATABASE_URL, run the rest (default: NEWSBOT_SHARD_IDS, else all)",
    )
    p.add_argument(
        "--shard-count",
        type=_positive,
        metavar="N",
        help="the total number of shards, the same in every process (default: NEWSBOT_SHARD_COUNT)",
    )
    p.set_defaults(handler=_serve)


def add_sync(sub: Subparsers, parents: Parents) -> None:
    p = sub.add_parser(
        "sync", parents=[parents.common], help="register the bot's slash commands with Discord now"
    )
    p.add_argument(
        "--guild", type=int, help="in this server only (instant; default: NEWSBOT_GUILD_ID, else all)"
    )
    p.set_defaults(handler=_sync)


def _bot_settings(settings: Settings, **overrides: Any) -> BotSettings:
    from bot.settings import BotSettings  # discord.py loads only for the bot's own commands

    return BotSettings(**(settings.model_dump() | overrides))


def _shard_ids(text: str) -> list[int]:
    """``0,1``: shard ids as Discord numbers them (from 0); the count is checked against them at start."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdecimal() for part in parts):
        raise argparse.ArgumentTypeError(f"must be shard numbers separated by commas, e.g. 0,1, not {text!r}")
    return [int(part) for part in parts]


def _positive(text: str) -> int:
    if not (text.strip().isdecimal() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    flags = {"shard_ids": args.shard_ids, "shard_count": args.shard_count}
    app.run(_bot_settings(settings, **{name: value for name, value in flags.items() if value is not None}))
    return 0


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    bot_settings = _bot_settings(settings, **({"guild_id": args.guild} if args.guild else {}))
    synced = asyncio.run(app.sync(bot_settings))
    where = f"in server {bot_settings.guild_id}" if bot_settings.guild_id else "globally"
    print(f"registered {len(synced)} slash commands {where}: " + ", ".join(f"/{c.name}" for c in synced))
    return 0
