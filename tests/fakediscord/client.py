"""Running the real discord.py client against the fake for a test.

The redirection itself (`point_discord_at`) lives in the bot, which applies it from
NEWSBOT_DISCORD_API_URL / NEWSBOT_DISCORD_GATEWAY_URL; it is re-exported here for tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import discord

from bot.discord_urls import point_discord_at

if TYPE_CHECKING:
    from .server import FakeDiscord

__all__ = ["point_discord_at", "running_client"]

ClientT = TypeVar("ClientT", bound=discord.Client)


@asynccontextmanager
async def running_client(
    client: ClientT, fake: FakeDiscord, *, ready_timeout: float = 120.0
) -> AsyncIterator[ClientT]:
    """Start ``client`` against ``fake``, yield once ``on_ready`` fired, then close it cleanly.

    A failed start (bad token, crash in ``setup_hook``) is re-raised instead of timing out. The ready
    timeout only catches a start that hangs: ``setup_hook`` may load models in answering processes, which
    takes tens of seconds on a cold, busy 2-core machine, so it is not a measure of start-up speed.
    """
    restore = point_discord_at(fake.api_url, fake.gateway_url)
    task = asyncio.create_task(client.start(fake.token or "any-token"), name="fake-discord-client")
    try:
        async with asyncio.timeout(ready_timeout):
            while not client.is_ready():
                if task.done():
                    task.result()
                    raise RuntimeError("client stopped before becoming ready")
                await asyncio.sleep(0.02)
        yield client
    finally:
        await client.close()
        await task
        restore()
