"""Pointing discord.py at another Discord (a test double, a proxy) instead of discord.com.

discord.py has no public option for this, so it patches the two class attributes every URL is built
from:

* ``discord.http.Route.BASE``: every REST call, including interaction callbacks and webhook
  followups (``discord/webhook/async_.py`` uses the same ``Route``), is ``Route.BASE + path``,
  computed when each ``Route`` is created, so patching before ``login()`` redirects all of them.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: a plain ``Client``/``commands.Bot`` never
  asks ``GET /gateway/bot``; it connects straight to this URL (``Client.connect`` ->
  ``DiscordWebSocket.from_client``), appending ``?v=10&encoding=json&compress=zlib-stream``.
  Afterwards it follows READY's ``resume_gateway_url`` and falls back to ``DEFAULT_GATEWAY`` on
  an invalidated session. ``ws://`` works (aiohttp does not require TLS). ``AutoShardedClient``
  uses the URL returned by ``GET /gateway/bot`` (a REST call, so redirected too) unless it is
  given a shard count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.settings import DISCORD_API_URL, DISCORD_GATEWAY_URL

log = logging.getLogger(__name__)


def _same(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def point_discord_at(api_url: str, gateway_url: str | None = None) -> Callable[[], None]:
    """Redirect discord.py's REST base (e.g. ``http://127.0.0.1:PORT/api/v10``) and gateway.

    Only URLs that differ from Discord's own are applied. Process-wide: call before
    ``login()``/``start()``. Returns a function restoring the previous URLs.
    """
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if not _same(api_url, DISCORD_API_URL):
        Route.BASE = api_url.rstrip("/")  # type: ignore[misc]
    if gateway_url and not _same(gateway_url, DISCORD_GATEWAY_URL):
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    if (old_base, old_gateway) != (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY):
        log.info("discord.py redirected: REST %s, gateway %s", Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)

    def restore() -> None:
        Route.BASE = old_base  # type: ignore[misc]
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore
