"""Pointing the real discord.py client at another Discord (the fake), and running it for a test.

`point_discord_at` is meant to move into the bot (driven by NEWSBOT_DISCORD_API_URL /
NEWSBOT_DISCORD_GATEWAY_URL). discord.py has no public option for this, so it patches the two
class attributes every URL is built from:

* ``discord.http.Route.BASE``: every REST call, including interaction callbacks and webhook
  followups (``discord/webhook/async_.py`` uses the same ``Route``), is ``Route.BASE + path``,
  computed when each ``Route`` is created, so patching before ``login()`` redirects all of them.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: a plain ``Client``/``commands.Bot`` never
  asks ``GET /gateway/bot``; it connects straight to this URL (``Client.connect`` ->
  ``DiscordWebSocket.from_client``), appending ``?v=10&encoding=json&compress=zlib-stream``.
  Afterwards it follows READY's ``resume_gateway_url`` and falls back to ``DEFAULT_GATEWAY`` on
  an invalidated session. ``ws://`` works (aiohttp does not require TLS). Only
  ``AutoShardedClient`` uses the URL returned by ``GET /gateway/bot``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

if TYPE_CHECKING:
    from .server import FakeDiscord

_log = logging.getLogger(__name__)

ClientT = TypeVar("ClientT", bound=discord.Client)


def point_discord_at(api_url: str, gateway_url: str | None = None) -> Callable[[], None]:
    """Redirect discord.py's REST base (e.g. ``http://127.0.0.1:PORT/api/v10``) and gateway.

    Process-wide; call before ``login()``/``start()``. Returns a function restoring the old URLs.
    """
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_url.rstrip("/")  # type: ignore[misc]
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    _log.info("discord.py redirected: REST %s, gateway %s", Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)

    def restore() -> None:
        Route.BASE = old_base  # type: ignore[misc]
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


@asynccontextmanager
async def running_client(
    client: ClientT, fake: FakeDiscord, *, ready_timeout: float = 10.0
) -> AsyncIterator[ClientT]:
    """Start ``client`` against ``fake``, yield once ``on_ready`` fired, then close it cleanly.

    A failed start (bad token, crash in ``setup_hook``) is re-raised instead of timing out.
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
