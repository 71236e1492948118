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


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    app.run(_bot_settings(settings))
    return 0


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot import app

    bot_settings = _bot_settings(settings, **({"guild_id": args.guild} if args.guild else {}))
    synced = asyncio.run(app.sync(bot_settings))
    where = f"in server {bot_settings.guild_id}" if bot_settings.guild_id else "globally"
    print(f"registered {len(synced)} slash commands {where}: " + ", ".join(f"/{c.name}" for c in synced))
    return 0
