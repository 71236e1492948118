"""A local web server for the fetch and feed tests, so they need no network.

Routes are plain data the test changes while the server runs (a feed gaining items while the bot is
"down", a feed starting to fail). Feeds and pages come from ``tests/fixtures/web``; ``{{BASE}}`` in a
fixture becomes the server's base URL.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    conditional: bool = False  # send an ETag (hash of the body); a matching If-None-Match gets a 304
    chunked: bool = False  # no Content-Length: the client only learns the size by reading


class WebServer:
    """An aiohttp server on 127.0.0.1 and a random port; use as ``async with WebServer() as server``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()  # 304s sent, per path
        self.request_headers: dict[str, dict[str, str]] = {}  # the last request's headers, per path
        self.in_flight = 0
        self.max_in_flight = 0
        self.base = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> WebServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Short shutdown: a test that timed out a slow response should not wait for the handler.
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: str | bytes = b"", **options: object) -> str:
        """Serve ``body`` at ``path`` (options as in `Route`); returns the full URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def fixture(self, path: str, name: str, content_type: str = HTML, **options: object) -> str:
        """Serve a file from ``tests/fixtures/web`` at ``path``; returns the full URL."""
        text = (FIXTURES / name).read_text(encoding="utf-8").replace("{{BASE}}", self.base)
        return self.add(path, text, content_type=content_type, **options)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, status=status, headers={"Location": location})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.request_headers[path] = dict(request.headers)
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if route.delay:
                await asyncio.sleep(route.delay)
            headers = dict(route.headers)
            if route.conditional:
                headers["ETag"] = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                if request.headers.get("If-None-Match") == headers["ETag"]:
                    self.not_modified[path] += 1
                    return web.Response(status=304, headers=headers)
            headers["Content-Type"] = route.content_type
            if not route.chunked:
                return web.Response(status=route.status, body=route.body, headers=headers)
            response = web.StreamResponse(status=route.status, headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(route.body), 8192):
                await response.write(route.body[start : start + 8192])
            await response.write_eof()
            return response
        finally:
            self.in_flight -= 1


def rss(title: str, items: list[dict[str, str]]) -> str:
    """An RSS 2.0 document; each item may have guid, title, link, description and pubDate."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>']
    parts.append(f"<title>{escape(title)}</title>")
    for item in items:
        fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in item.items())
        # A guid here is an id, not a permalink URL (RSS's default).
        parts.append("<item>" + fields.replace("<guid>", '<guid isPermaLink="false">') + "</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts)
