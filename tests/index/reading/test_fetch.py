"""The fetcher against a local server: limits, redirects, conditional GET, the private-address guard,
charsets, and what a page may say about itself."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from webserver import WebServer

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.reading import fetch as fetch_module
from index.reading.feeds import parse_feed
from index.reading.fetch import Fetcher, FetchError, FetchResult, PrivateAddressError, private_address_reason

GAZETTE_URL = "https://news.example/energy/port-wren-tidal-pilot"  # the impostor page's canonical


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"allow_private_urls": True, "fetch_timeout": 2.0, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


class FakeResolver(AbstractResolver):
    """DNS answers from a dict, so tests can point made-up host names at chosen addresses."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(f"unknown host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    async with WebServer() as web_server:
        yield web_server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(make_settings()) as open_fetcher:
        yield open_fetcher


async def test_get_returns_body_and_headers(server: WebServer, fetcher: Fetcher) -> None:
    url = server.fixture("/news/library.html", "library-telescopes.html")
    result = await fetcher.get(url)
    assert (result.status, result.url, result.final_url) == (200, url, url)
    assert (result.content_type, result.charset) == ("text/html", "utf-8")
    assert "telescopes" in result.text
    assert not result.not_modified
    assert server.request_headers["/news/library.html"]["User-Agent"] == fetcher.settings.user_agent


async def test_fetch_article_prefers_canonical_url(server: WebServer, fetcher: Fetcher) -> None:
    url = server.fixture("/news/tidal.html", "tidal-pilot.html") + "?utm_source=feed"
    article = await fetcher.fetch_article(url)
    assert article.url == server.url("/energy/port-wren-tidal-pilot")
    assert article.origin == url
    assert article.title == "Port Wren switches on tidal energy pilot"
    assert article.source == "The Example Gazette"
    assert article.published == "2024-03-14"
    assert "tidal turbine" in article.text


async def test_fetch_article_without_canonical_uses_url_after_redirects(
    server: WebServer, fetcher: Fetcher
) -> None:
    final = server.fixture("/news/library.html", "library-telescopes.html")
    start = server.redirect("/old-link", "/news/library.html", status=301)
    article = await fetcher.fetch_article(start)
    assert (article.url, article.origin) == (final, start)


async def test_redirect_chain_within_and_past_the_limit(server: WebServer) -> None:
    final = server.add("/page", "<p>arrived</p>")
    server.redirect("/r3", "/page")
    server.redirect("/r2", server.url("/r3"), status=307)  # absolute Location
    server.redirect("/r1", "r2", status=308)  # relative Location
    async with Fetcher(make_settings(fetch_max_redirects=3)) as fetcher:
        assert (await fetcher.get(server.url("/r1"))).final_url == final
    async with Fetcher(make_settings(fetch_max_redirects=2)) as fetcher:
        with pytest.raises(FetchError, match="too many redirects"):
            await fetcher.get(server.url("/r1"))
    assert server.hits["/page"] == 1


async def test_http_error_names_status_and_url(server: WebServer, fetcher: Fetcher) -> None:
    url = server.url("/nowhere")
    with pytest.raises(FetchError, match=rf"HTTP 404 from {url} \(check the address\)"):
        await fetcher.get(url)


@pytest.mark.parametrize(
    ("status", "transient"), [(404, False), (403, False), (410, False), (408, True), (429, True), (503, True)]
)
async def test_http_errors_that_may_pass_are_transient(
    server: WebServer, fetcher: Fetcher, status: int, transient: bool
) -> None:
    with pytest.raises(FetchError, match=f"HTTP {status} from") as caught:
        await fetcher.get(server.add("/status", "no", status=status))
    assert caught.value.transient is transient


async def test_slow_response_times_out(server: WebServer) -> None:
    url = server.add("/slow", "<p>late</p>", delay=2.0)
    async with Fetcher(make_settings(fetch_timeout=0.2)) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"timed out after 0\.2 s") as caught:
            await fetcher.get(url)
    assert time.monotonic() - started < 1.5
    assert caught.value.transient  # a later poll may well find the site up


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_page_is_refused(server: WebServer, chunked: bool) -> None:
    url = server.add("/big", b"x" * 50_000, chunked=chunked)
    async with Fetcher(make_settings(fetch_max_bytes=10_000)) as fetcher:
        with pytest.raises(FetchError, match="page is larger than 10 KB"):
            await fetcher.get(url)
        server.add("/small", b"x" * 10_000, chunked=chunked)
        assert len((await fetcher.get(server.url("/small"))).body) == 10_000


async def test_conditional_get_gives_not_modified(server: WebServer, fetcher: Fetcher) -> None:
    stamp = {"Last-Modified": "Mon, 01 Apr 2024 10:00:00 GMT"}
    url = server.add("/feed.xml", "<rss/>", conditional=True, headers=stamp)
    first = await fetcher.get(url)
    assert first.etag and first.last_modified
    second = await fetcher.get(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert server.not_modified["/feed.xml"] == 1
    assert server.request_headers["/feed.xml"]["If-Modified-Since"] == first.last_modified


async def test_page_without_article_text(server: WebServer, fetcher: Fetcher) -> None:
    url = server.fixture("/home.html", "empty.html")
    with pytest.raises(FetchError, match=f"no article text found at {url}"):
        await fetcher.fetch_article(url)


async def test_non_html_is_not_read_as_article(server: WebServer, fetcher: Fetcher) -> None:
    url = server.add("/report.pdf", b"%PDF-1.7", content_type="application/pdf")
    with pytest.raises(FetchError, match="not a web page but application/pdf"):
        await fetcher.fetch_article(url)


@pytest.mark.parametrize("limit", [1, 2])
async def test_per_host_concurrency_limit(server: WebServer, limit: int) -> None:
    url = server.add("/slowish", "<p>hi</p>", delay=0.1)
    async with Fetcher(make_settings(fetch_per_host=limit)) as fetcher:
        await asyncio.gather(*(fetcher.get(url) for _ in range(4)))
    assert server.max_in_flight == limit


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "file:///etc/passwd", "javascript:alert(1)", "http://"]
)
async def test_only_http_urls(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError, match="only http|no host name"):
        await fetcher.get(url)


# -- the private-address guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("192.168.1.20", "a private address"),
        ("172.16.0.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("100.64.0.1", "not a public address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fd00::1", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:10.1.2.3", "a private address"),
        ("2002:a00:1::1", "a private address"),  # 6to4 around 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 around 169.254.169.254
        ("fec0::1", "a site-local address"),  # Python's own tables call it global
        ("::7f00:1", "not a public address"),  # IPv4-compatible, deprecated
        ("2001:db8::1", "not a public address"),
        ("3fff::1", "not a public address"),
        ("64:ff9b:1::1", "not a public address"),
        ("100::1", "not a public address"),
        ("198.18.0.1", "not a public address"),
        ("192.0.2.1", "not a public address"),
        ("4000::1", "not a public address"),  # outside 2000::/3: not assigned for the internet
        ("93.184.215.14", None),
        ("::ffff:93.184.215.14", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_private_address_reason(address: str, reason: str | None) -> None:
    assert private_address_reason(address) == reason


@pytest.mark.parametrize("address", ["fd00::1", "fec0::1", "10.0.0.1", "::1", "169.254.169.254"])
def test_the_guard_does_not_rest_on_pythons_address_tables(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    """Pythons before CVE-2024-4032's fix misjudge ranges: the guard keeps a deny list of its own."""
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for name in ("is_private", "is_loopback", "is_link_local", "is_reserved", "is_site_local"):
            monkeypatch.setattr(cls, name, property(lambda self: False), raising=False)
        monkeypatch.setattr(cls, "is_global", property(lambda self: True))
    assert private_address_reason(address) is not None


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:9/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]:9/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
        ("http://localhost/", "localhost resolves to"),
        # Numeric host forms the C library reads as IPv4 addresses:
        ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://017700000001/", "017700000001 resolves to 127.0.0.1"),
        ("http://0x7f000001/", "0x7f000001 resolves to 127.0.0.1"),
        ("http://0177.0.0.1/", "0177.0.0.1 resolves to 127.0.0.1"),
        ("http://127.1/", "127.1 resolves to 127.0.0.1"),
        ("http://012.1/", "012.1 resolves to 10.0.0.1, a private address"),
        ("http://[fec0::1]/", "fec0::1 is a site-local address"),
    ],
)
async def test_guard_refuses_private_addresses(url: str, refused: str) -> None:
    async with Fetcher(make_settings(allow_private_urls=False)) as fetcher:
        with pytest.raises(PrivateAddressError, match=refused) as caught:
            await fetcher.get(url)
    assert "set NEWSBOT_ALLOW_PRIVATE_URLS=true to allow" in str(caught.value)
    assert not caught.value.transient  # refused for good: no later poll would fare better


@pytest.mark.parametrize(
    "url", ["http://public.example:6379/", "https://public.example:22/", "http://93.184.215.14:8080/"]
)
async def test_guard_refuses_ports_that_are_not_web_ports(url: str) -> None:
    resolver = FakeResolver({"public.example": ["93.184.215.14"]})
    async with Fetcher(make_settings(allow_private_urls=False), resolver=resolver) as fetcher:
        with pytest.raises(PrivateAddressError, match=r"is not a web port newsbot fetches from \(80, 443\)"):
            await fetcher.get(url)


@pytest.mark.parametrize(
    ("answers", "refused"),
    [
        (["10.1.2.3"], "intranet.example resolves to 10.1.2.3, a private address"),
        # One bad answer is enough: the connection could go to any of them.
        (["93.184.215.14", "127.0.0.2"], "resolves to 127.0.0.2, a loopback address"),
        (["::ffff:192.168.0.9"], "a private address"),
    ],
)
async def test_guard_checks_resolved_addresses(answers: list[str], refused: str) -> None:
    resolver = FakeResolver({"intranet.example": answers})
    async with Fetcher(make_settings(allow_private_urls=False), resolver=resolver) as fetcher:
        with pytest.raises(PrivateAddressError, match=refused):
            await fetcher.get("http://intranet.example/admin")


@pytest.mark.parametrize(
    ("location", "refused"),
    [
        ("http://intranet.example:{port}/secret", "intranet.example resolves to 10.0.0.7"),
        ("http://10.0.0.8/secret", "10.0.0.8 is a private address"),
        ("http://[fd00::8]/secret", "fd00::8 is a private address"),
        ("http://public.example:6379/", "port 6379 of http://public.example:6379/ is not a web port"),
    ],
)
async def test_guard_covers_redirects(
    server: WebServer, monkeypatch: pytest.MonkeyPatch, location: str, refused: str
) -> None:
    # The local server stands in for a public site: 127.0.0.1 passes the guard in this test only.
    real_reason = fetch_module.private_address_reason

    def reason(address: str) -> str | None:
        return None if address == "127.0.0.1" else real_reason(address)

    monkeypatch.setattr(fetch_module, "private_address_reason", reason)
    port = server.base.rsplit(":", 1)[1]
    server.redirect("/hop", location.format(port=port))
    server.add("/fine", "<p>public page</p>")
    resolver = FakeResolver({"public.example": ["127.0.0.1"], "intranet.example": ["10.0.0.7"]})
    settings = make_settings(allow_private_urls=False, fetch_ports={80, 443, int(port)})
    async with Fetcher(settings, resolver=resolver) as fetcher:
        assert (await fetcher.get(f"http://public.example:{port}/fine")).body == b"<p>public page</p>"
        with pytest.raises(PrivateAddressError, match=refused):
            await fetcher.get(f"http://public.example:{port}/hop")
    assert server.hits["/hop"] == 1


# -- charsets ---------------------------------------------------------------------------------------

STORY = "".join(
    f"<p>{line}</p>"
    for line in (
        "The ferry to Holm Island will run twice a day from Monday, the harbour office said on Friday.",
        "Islanders had asked for a second crossing since the old timetable was cut back in the spring.",
    )
)


def result(body: bytes, charset: str | None = None) -> FetchResult:
    return FetchResult(
        "https://a.example/", "https://a.example/", 200, body, "text/html", charset, None, None
    )


def page(head: str, tail: str = "") -> bytes:
    return f"<html><head>{head}<title>Ferry</title></head><body><article>{STORY}</article>{tail}".encode()


def punycode_bomb(size: int) -> str:
    """What Python's punycode codec decodes in quadratic time: a long run of letters after the last hyphen
    (here an unclosed comment, which a parser ignores)."""
    return "<!--" + "b" * size


async def max_loop_gap(work: Awaitable[Any]) -> tuple[Any, float]:
    """``work``'s result and the longest the event loop went without running a ticker meanwhile."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    gap = 0.0

    async def tick() -> None:
        nonlocal gap
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            gap, last = max(gap, now - last), now

    ticker = asyncio.create_task(tick())
    try:
        outcome = await work
    finally:
        done.set()
        await ticker  # its last tick measures up to now
    return outcome, gap


@pytest.mark.parametrize(
    ("charset", "head"),
    [("punycode", ""), (None, '<meta charset="punycode">')],
    ids=["http-header", "meta-charset"],
)
async def test_a_page_naming_a_slow_codec_neither_costs_cpu_nor_blocks_the_loop(
    server: WebServer, fetcher: Fetcher, charset: str | None, head: str
) -> None:
    """Python's punycode codec takes seconds on 300 KB (minutes at the size cap): only the web's own
    encodings are decoded, and the decoding runs beside the event loop, not on it."""
    content_type = f"text/html; charset={charset}" if charset else "text/html"
    url = server.add("/bomb.html", page(head, punycode_bomb(300_000)), content_type=content_type)
    started = time.process_time()
    (article,), gap = await max_loop_gap(asyncio.gather(fetcher.fetch_article(url), return_exceptions=True))
    assert time.process_time() - started < 1.0
    assert gap < 0.25
    assert isinstance(article, ArticleIn)
    assert article.text.startswith("The ferry to Holm Island will run twice a day")
    body = page(head, punycode_bomb(300_000))
    started = time.process_time()
    assert "Islanders had asked" in result(body, charset).text
    assert time.process_time() - started < 0.25


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        ("café".encode(), "x-no-such-charset", "café"),  # unknown: UTF-8
        ("café".encode(), "cp500", "café"),  # Python knows EBCDIC, browsers do not: UTF-8
        ("café".encode(), "utf-7", "café"),
        ("café".encode(), "iso-2022-kr", "café"),  # WHATWG's "replacement": nothing to read, skipped
        (b"\x93quoted\x94", "latin1", "\u201cquoted\u201d"),  # WHATWG: latin1 means windows-1252
        (b"\x93quoted\x94", "x-unknown", "\ufffdquoted\ufffd"),  # UTF-8 with replacement
        (
            b'<meta charset="windows-1251">\xcf\xf0\xe8\xe2\xe5\xf2',
            None,
            '<meta charset="windows-1251">Привет',
        ),
        (
            b'<meta charset="koi8-r">\xf0\xd2',
            "bogus",
            '<meta charset="koi8-r">Пр',
        ),  # header unknown
        (b'<meta charset="utf-16"><p>hi</p>', None, '<meta charset="utf-16"><p>hi</p>'),  # ASCII-read: UTF-8
        (
            b'<?xml version="1.0" encoding="cp037"?><rss/>',
            None,
            '<?xml version="1.0" encoding="cp037"?><rss/>',
        ),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "windows-1252", "café"),  # a byte order mark wins
    ],
)
def test_only_the_webs_encodings_are_decoded(body: bytes, charset: str | None, expected: str) -> None:
    assert result(body, charset).text == expected


def test_feed_bodies_are_decoded_by_the_same_rules() -> None:
    """feedparser would decode with whatever codec the feed names, punycode included."""
    item = (
        "<item><guid>1</guid><title>Ferry</title><description>Twice a day from Monday.</description></item>"
    )
    xml = f'<?xml version="1.0" encoding="punycode"?><rss version="2.0"><channel><title>Harbour</title>{item}'
    body = (xml + "</channel></rss>\n" + punycode_bomb(300_000)).encode()
    for charset in (None, "punycode"):
        feed = FetchResult(
            "https://a.example/rss", "https://a.example/rss", 200, body, None, charset, None, None
        )
        started = time.process_time()
        parsed = parse_feed(feed)
        assert time.process_time() - started < 1.0
        assert [entry.title for entry in parsed.entries] == ["Ferry"]
    cp500 = f'<?xml version="1.0" encoding="cp500"?><rss version="2.0"><channel>{item}</channel></rss>'
    feed = FetchResult(
        "https://a.example/rss", "https://a.example/rss", 200, cp500.encode(), None, None, None, None
    )
    assert [entry.title for entry in parse_feed(feed).entries] == ["Ferry"]


# -- what a page says about itself ------------------------------------------------------------------


async def test_a_canonical_url_on_another_host_is_only_a_claim(server: WebServer) -> None:
    """Any page can name another site's article as its canonical URL and that site's name as its own:
    it is cited as the host it came from, with the page's word kept as a claim."""
    port = server.base.rsplit(":", 1)[1]
    server.fixture("/copy.html", "impostor-tidal.html")
    url = f"http://copycat.example:{port}/copy.html"
    async with Fetcher(make_settings(), resolver=FakeResolver({"copycat.example": ["127.0.0.1"]})) as fetcher:
        article = await fetcher.fetch_article(url)
    assert (article.url, article.source) == (url, "copycat.example")
    assert article.meta["claimed_url"] == GAZETTE_URL
    assert article.meta["claimed_source"] == "The Example Gazette"


async def test_a_page_claiming_another_sites_article_does_not_replace_it(
    server: WebServer, hash_settings: Settings
) -> None:
    """Ingest matches articles by URL: a page taken at its canonical word would replace the real one."""
    gazette = "The harbor town of Port Wren switched on a small tidal turbine on Friday, the first of three."
    engine = Engine(hash_settings.model_copy(update={"allow_private_urls": True}))
    try:
        engine.ingest(
            [
                ArticleIn(
                    "Port Wren switches on tidal energy pilot",
                    gazette,
                    url=GAZETTE_URL,
                    source="The Example Gazette",
                )
            ]
        )
        url = server.fixture("/copy.html", "impostor-tidal.html")
        report = await asyncio.to_thread(engine.ingest_sources, [url])
        assert (report.new, report.updated) == (1, 0)
        rows = {row["url"]: row for row in engine.store.query("SELECT url, source, text, meta FROM articles")}
    finally:
        engine.close()
    assert rows[GAZETTE_URL]["text"] == gazette
    assert rows[GAZETTE_URL]["source"] == "The Example Gazette"
    assert "abandoned its tidal turbine" in rows[url]["text"]
    assert rows[url]["source"] == "127.0.0.1"
    assert json.loads(rows[url]["meta"])["claimed_source"] == "The Example Gazette"
