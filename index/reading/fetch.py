"""The one way the engine fetches a URL (CLI ingest, feed polling, the bot's /ingest).

Every fetch goes through `Fetcher` so the same protections hold everywhere: no private addresses
(checked on the resolved addresses, at connection time, for every redirect hop) and only the usual web
ports, a total time limit, a size cap, a bounded number of redirects and a per-host concurrency limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.reading.html import decode_page, extract_article

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SCHEMES = frozenset({"http", "https"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.8"
)
_CHUNK = 64 * 1024
# NAT64 well-known prefix: the last 32 bits are an IPv4 address, and that is what gets reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Every range that is not the public internet (IANA's special-purpose registries), kept here rather
# than taken from `ipaddress`, whose tables were wrong before CVE-2024-4032's fix (3.11.10, 3.12.4) and
# still call site-local fec0::/10 global. The first match names the kind.
_NOT_PUBLIC = tuple(
    (kind, ipaddress.ip_network(network))
    for kind, networks in (
        ("an unspecified address", ("0.0.0.0/32", "::/128")),
        ("a loopback address", ("127.0.0.0/8", "::1/128")),
        ("a link-local address", ("169.254.0.0/16", "fe80::/10")),
        ("a site-local address", ("fec0::/10",)),
        ("a multicast address", ("224.0.0.0/4", "ff00::/8")),
        ("a reserved address", ("240.0.0.0/4",)),
        ("a private address", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
        (
            "not a public address",
            (
                "0.0.0.0/8",
                "100.64.0.0/10",
                "192.0.0.0/24",
                "192.0.2.0/24",
                "192.88.99.0/24",
                "198.18.0.0/15",
                "198.51.100.0/24",
                "203.0.113.0/24",
                "::/96",
                "64:ff9b:1::/48",
                "100::/64",
                "2001::/23",
                "2001:db8::/32",
                "3fff::/20",
                "5f00::/16",
            ),
        ),  # fmt: skip
    )
    for network in networks
)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # all of IPv6 that is assigned for the internet
# A host written as a number the C library reads as IPv4: 2130706433, 0x7f000001, 0177.0.0.1, 127.1.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}\.?", re.IGNORECASE)
# A charset the document declares itself: <meta charset=...>, http-equiv content, <?xml encoding=...?>.
# Only its first 4096 bytes are looked at, as a browser's prescan does (1024 bytes there).
_HTTP_HINTS = {
    401: "the page needs a login",
    403: "the site refuses the request; it may block bots",
    404: "check the address",
    410: "the page was removed",
    429: "the site is rate-limiting; try again later",
}
_TRANSIENT_STATUSES = frozenset({408, 425, 429})  # besides 5xx: worth asking again later


class FetchError(Exception):
    """A fetch that failed; the message says what happened and, where it can, what to do about it.

    ``transient`` marks failures that may well pass (a timeout, a dropped connection, HTTP 408, 429 or
    5xx): worth trying again later, unlike a 404 or a refused address."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class PrivateAddressError(FetchError):
    """The URL leads to an address inside a private network, which the fetcher refuses to reach."""


@dataclass(frozen=True)
class FetchResult:
    """One completed fetch. ``body`` is empty when the server answered 304 Not Modified."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None  # without parameters, e.g. "text/html"
    charset: str | None  # from the Content-Type header
    etag: str | None
    last_modified: str | None
    not_modified: bool = False

    @property
    def text(self) -> str:
        """The body decoded as a browser would (`index.reading.html.decode_page`): up to a few tenths of a
        second of CPU on a 5 MB page, so read it off the event loop."""
        return decode_page(self.body, self.charset)


def private_address_reason(address: str) -> str | None:
    """What kind of non-public address ``address`` is ("a loopback address", ...), or None if public.

    IPv4 addresses carried inside IPv6 ones (IPv4-mapped, 6to4, NAT64) are judged by the IPv4 address,
    since that is where the connection ends up.
    """
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    for kind, network in _NOT_PUBLIC:
        if ip.version == network.version and ip in network:
            return kind
    if ip.version == 6 and ip not in _GLOBAL_UNICAST:
        return "not a public address"
    return None if ip.is_global else "not a public address"  # `ipaddress`'s tables as a second opinion


def _numeric_host(host: str) -> str | None:
    """The IPv4 address (dotted) that a numeric host name stands for, as `socket.inet_aton` reads it."""
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def _refuse_private(address: str, host: str | None = None) -> None:
    reason = private_address_reason(address)
    if reason is None:
        return
    what = f"{host} resolves to {address}, {reason}" if host and host != address else f"{address} is {reason}"
    raise PrivateAddressError(f"refused: {what} (set NEWSBOT_ALLOW_PRIVATE_URLS=true to allow)")


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and refuses any answer that points into a private network.

    Checking the addresses aiohttp is about to connect to, rather than the URL beforehand, covers every
    redirect hop and leaves no gap between the check and the connection for a DNS answer to change.
    """

    def __init__(self, inner: AbstractResolver) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            _refuse_private(answer["host"], host)
        return answers

    async def close(self) -> None:
        await self._inner.close()


def _parse_url(url: str | URL) -> URL:
    try:
        parsed = url if isinstance(url, URL) else URL(url.strip())
    except (TypeError, ValueError) as exc:
        raise FetchError(f"not a valid URL: {url!r}") from exc
    if parsed.scheme not in _SCHEMES:
        raise FetchError(f"only http:// and https:// URLs can be fetched, not {str(url)!r}")
    if not parsed.host:
        raise FetchError(f"no host name in URL {str(url)!r}")
    return parsed


def _format_size(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def _http_error(status: int, url: URL) -> FetchError:
    hint = _HTTP_HINTS.get(status) or ("the site has a problem; try again later" if status >= 500 else "")
    return FetchError(
        f"HTTP {status} from {url}" + (f" ({hint})" if hint else ""),
        transient=status in _TRANSIENT_STATUSES or status >= 500,
    )


class Fetcher:
    """An HTTP client with the engine's limits. Use as ``async with Fetcher(settings) as fetcher``.

    ``resolver`` replaces aiohttp's default DNS resolver (tests use a fake one); unless the settings allow
    private URLs it is wrapped in a `GuardedResolver`.
    """

    def __init__(self, settings: Settings, *, resolver: AbstractResolver | None = None) -> None:
        self.settings = settings
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._owned_resolver: AbstractResolver | None = None
        # Weak values: a host's semaphore lives while a fetch holds or awaits it, then goes.
        self._host_slots: weakref.WeakValueDictionary[str, asyncio.Semaphore] = weakref.WeakValueDictionary()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Start the HTTP session (needs a running event loop, hence not in ``__init__``)."""
        if self._session is not None:
            return
        inner = self._resolver
        if inner is None:
            inner = self._owned_resolver = DefaultResolver()
        resolver = inner if self.settings.allow_private_urls else GuardedResolver(inner)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=resolver),
            headers={"User-Agent": self.settings.user_agent, "Accept": _ACCEPT},
            timeout=aiohttp.ClientTimeout(total=None),  # the total limit is applied per fetch, see get()
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._owned_resolver is not None:
            await self._owned_resolver.close()
            self._owned_resolver = None

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url``, following redirects; raise `FetchError` for anything but a 2xx or 304 answer.

        ``etag`` and ``last_modified`` make the request conditional: an unchanged resource comes back with
        ``not_modified=True`` and an empty body.
        """
        if self._session is None:
            raise RuntimeError("Fetcher is not open; use 'async with Fetcher(settings) as fetcher'")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = _parse_url(url)
        timeout = self.settings.fetch_timeout
        deadline: float | None = None
        try:
            for _ in range(self.settings.fetch_max_redirects + 1):
                self._guard(current)
                # The deadline starts once a host slot is free: waiting in line is not the site's fault.
                async with self._host_slot(current.host or ""):
                    if deadline is None:
                        deadline = asyncio.get_running_loop().time() + timeout
                    async with asyncio.timeout_at(deadline):
                        outcome = await self._request(url, current, headers)
                if isinstance(outcome, FetchResult):
                    return outcome
                log.debug("redirect %s -> %s", current, outcome)
                current = outcome
        except TimeoutError as exc:
            raise FetchError(
                f"timed out after {timeout:g} s fetching {url} (the site is slow or down; try again later)",
                transient=True,
            ) from exc
        except aiohttp.ClientError as exc:  # refused or dropped connections, DNS failures, cut-off bodies
            raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}", transient=True) from exc
        raise FetchError(
            f"too many redirects fetching {url} (more than {self.settings.fetch_max_redirects}); "
            "try the address the browser ends up at"
        )

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self.settings.fetch_per_host)
        return slot

    def _guard(self, url: URL) -> None:
        """The port, and an IP address written in the URL (it never reaches the resolver)."""
        if self.settings.allow_private_urls or url.host is None:
            return
        address = _numeric_host(url.host) or url.host
        try:
            ipaddress.ip_address(address)
        except ValueError:
            pass  # a host name: the resolver checks what it resolves to
        else:
            _refuse_private(address, url.host)
        if url.port not in self.settings.fetch_ports:
            allowed = ", ".join(map(str, sorted(self.settings.fetch_ports)))
            raise PrivateAddressError(
                f"refused: port {url.port} of {url} is not a web port newsbot fetches from ({allowed}); "
                "set NEWSBOT_FETCH_PORTS to allow others"
            )

    async def _request(self, url: str, current: URL, headers: dict[str, str]) -> FetchResult | URL:
        """One hop: the result, or the URL a redirect points to."""
        assert self._session is not None
        async with self._session.get(current, headers=headers, allow_redirects=False) as resp:
            if resp.status in _REDIRECTS:
                location = resp.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {resp.status} from {current} redirects nowhere (no Location)")
                try:
                    return _parse_url(current.join(URL(location)))
                except ValueError as exc:
                    raise FetchError(f"{current} redirects to an invalid URL: {location!r}") from exc
            if resp.status != 304 and not 200 <= resp.status < 300:
                raise _http_error(resp.status, current)
            body = b"" if resp.status == 304 else await self._read_capped(resp, url)
            return FetchResult(
                url=url,
                final_url=str(current),
                status=resp.status,
                body=body,
                content_type=resp.content_type if "Content-Type" in resp.headers else None,
                charset=resp.charset,
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
                not_modified=resp.status == 304,
            )

    async def _read_capped(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        """The body, refusing it as soon as it is known to be too big (Content-Length or bytes read)."""
        limit = self.settings.fetch_max_bytes
        too_large = FetchError(
            f"page is larger than {_format_size(limit)}: {url} (raise NEWSBOT_FETCH_MAX_BYTES to allow)"
        )
        if resp.content_length is not None and resp.content_length > limit:
            raise too_large
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

    async def fetch_article(self, url: str) -> ArticleIn:
        """Fetch a web page and extract its article.

        The article's ``url`` is the page's canonical URL when it names one on its own site (see
        `extract_article`), else the URL after redirects; ``origin`` is the URL as given.
        """
        result = await self.get(url)
        if result.content_type and result.content_type not in _HTML_TYPES:
            raise FetchError(
                f"{url} is not a web page but {result.content_type}; only HTML articles can be read"
            )
        # Decoding and extraction take milliseconds of CPU or more: keep the event loop free meanwhile.
        article = await asyncio.to_thread(_page_article, result)
        if article is None:
            raise FetchError(
                f"no article text found at {url} (it may be a home page, a paywall, a login page "
                "or a page that needs JavaScript)"
            )
        article.url = article.url or result.final_url
        article.origin = url
        return article


def _page_article(result: FetchResult) -> ArticleIn | None:
    return extract_article(result.text, result.final_url)
