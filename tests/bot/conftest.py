"""Fixtures: the real NewsBot and model against FakeDiscord, with every outgoing message checked."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fakediscord import FakeDiscord, running_client
from harness import TOKEN, assert_discord_rules, write_harbour_stories

from bot.app import NewsBot, create_bot
from bot.settings import BotSettings
from index.core.settings import Settings
from index.engine import Engine
from index.search.rerank import CrossEncoderReranker
from index.storage.embed import SentenceTransformerEmbedder

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "news"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

StartBot = Callable[..., AbstractAsyncContextManager[NewsBot]]


@pytest.fixture
def bot_settings(tmp_path: Path) -> BotSettings:
    return BotSettings(
        _env_file=None,
        data_dir=tmp_path / "data",
        discord_token=TOKEN,
        workers=4,
        cooldown_rate=100,
        cooldown_seconds=60,
    )


def _built(
    folder: Path, model: SentenceTransformerEmbedder, sources: list[Path], base: Path | None = None
) -> Path:
    """A data dir holding ``base``'s articles plus ``sources``, embedded by the real model."""
    data = folder / "data"
    if base is not None:
        shutil.copytree(base, data)
    engine = Engine(Settings(data_dir=data, _env_file=None), embedder=model)
    try:
        report = engine.ingest_paths(sources)
        assert report.stored and not report.problems, report.problems
    finally:
        engine.close()
    return data


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory: pytest.TempPathFactory, model: SentenceTransformerEmbedder) -> Path:
    """The bundled sample article, embedded once for the whole run (the model takes about a second)."""
    return _built(tmp_path_factory.mktemp("sample"), model, [SAMPLE_DIR])


@pytest.fixture(scope="session")
def harbour_data(
    tmp_path_factory: pytest.TempPathFactory, model: SentenceTransformerEmbedder, sample_data: Path
) -> Path:
    """The sample plus eight short articles from three outlets (see `HARBOUR_STORIES`)."""
    folder = tmp_path_factory.mktemp("harbour")
    return _built(folder, model, [write_harbour_stories(folder)], base=sample_data)


@pytest.fixture
def data_source(sample_data: Path) -> Path:
    """What the test's engine starts with; a test module overrides it for other articles."""
    return sample_data


@pytest.fixture
def engine(
    bot_settings: BotSettings,
    model: SentenceTransformerEmbedder,
    reranker: CrossEncoderReranker,
    data_source: Path,
) -> Iterator[Engine]:
    """The real models over a private copy of ``data_source``."""
    shutil.copytree(data_source, bot_settings.data_dir)
    engine = Engine(bot_settings, embedder=model, reranker=reranker)
    yield engine
    engine.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """FakeDiscord with a 500 ms heartbeat; afterwards, every message the bot sent is checked."""
    async with FakeDiscord(token=TOKEN, heartbeat_interval_ms=500) as fake:
        yield fake
    assert_discord_rules(fake.requests)


@pytest.fixture
def start_bot(bot_settings: BotSettings, engine: Engine, fake: FakeDiscord) -> StartBot:
    """``async with start_bot(**setting_overrides) as bot``: a ready bot; it records completed commands."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[NewsBot]:
        settings = bot_settings.model_copy(update=overrides)
        bot = create_bot(settings, engine, guild_ready_timeout=0.05)
        bot.completed = set()  # type: ignore[attr-defined]

        async def completed(interaction: Any, command: Any) -> None:
            bot.completed.add(interaction.id)  # type: ignore[attr-defined]

        bot.add_listener(completed, "on_app_command_completion")
        async with running_client(bot, fake) as ready:
            yield ready

    return start


@pytest.fixture
async def bot(start_bot: StartBot) -> AsyncIterator[NewsBot]:
    async with start_bot() as bot:
        yield bot


@pytest.fixture
async def news_site() -> AsyncIterator[str]:
    """tests/fixtures/web served on 127.0.0.1 (any folder, by file name); returns the base URL."""
    base = ""

    async def page(request: web.Request) -> web.Response:
        path = FIXTURES / "web" / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        kind = "application/rss+xml" if path.suffix == ".xml" else "text/html"
        return web.Response(
            text=path.read_text(encoding="utf-8").replace("{{BASE}}", base), content_type=kind
        )

    app = web.Application()
    app.router.add_get("/{folders:.*?}{name:[^/]+}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    yield base
    await runner.cleanup()


@pytest.fixture
def fetch_locally(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the engine's guarded fetcher reach 127.0.0.1, where the test's news site is."""
    monkeypatch.setattr(engine, "settings", engine.settings.model_copy(update={"allow_private_urls": True}))
