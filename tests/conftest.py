"""Shared fixtures: engines over temporary data dirs, with the hash test vectors or the real model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.core.settings import Settings
from index.engine import Engine
from index.engine.parts import open_store
from index.search.rerank import SHIPPED, CrossEncoderReranker
from index.storage.embed import SentenceTransformerEmbedder
from index.storage.interface import NewsStore

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "examples" / "news"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

pytest_plugins = ["postgres"]  # pg_server, pg_url: a real PostgreSQL (tests/postgres.py)


@pytest.fixture
def hash_settings(tmp_path: Path) -> Settings:
    """Settings whose embedder is the deterministic hash backend and no reranker: no model, instant."""
    return Settings(data_dir=tmp_path / "data", model="hash", rerank=False, _env_file=None)


@pytest.fixture
def hash_engine(hash_settings: Settings) -> Iterator[Engine]:
    engine = Engine(hash_settings)
    yield engine
    engine.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, hash_settings: Settings) -> Settings:
    """`hash_settings` on each backend, for the tests of what storage must do alike on both: the data
    dir's SQLite and FAISS files, or a fresh PostgreSQL database (``-k postgres`` selects those runs).
    The server starts only for a PostgreSQL run."""
    if request.param == "sqlite":
        return hash_settings
    return hash_settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})


@pytest.fixture
def open_backend_store(backend_settings: Settings) -> Iterator[Callable[[], NewsStore]]:
    """Opens another store over `backend_settings`' database, as another process would (the engine's
    own `open_store`); every store it opened is closed after the test."""
    opened: list[NewsStore] = []

    def another() -> NewsStore:
        opened.append(open_store(backend_settings))
        return opened[-1]

    yield another
    for store in opened:
        store.close()


@pytest.fixture
def backend_engine(backend_settings: Settings) -> Iterator[Engine]:
    """The hash-model engine on each backend (`backend_settings`)."""
    engine = Engine(backend_settings)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def model() -> SentenceTransformerEmbedder:
    """The real bundled model, loaded once for the whole run."""
    return SentenceTransformerEmbedder("")


@pytest.fixture(scope="session")
def reranker() -> CrossEncoderReranker:
    """The reranker shipped in models/, loaded once for the whole run and read as served here
    (NEWSBOT_RERANK_PRECISION=float32 runs the suite on the reference reading)."""
    return CrossEncoderReranker(SHIPPED, precision=Settings(_env_file=None).rerank_precision)


@pytest.fixture(scope="session")
def reference_reranker() -> CrossEncoderReranker:
    """The same, read in float32: what it was validated in."""
    return CrossEncoderReranker(SHIPPED, precision="float32")


@pytest.fixture
def real_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)


@pytest.fixture
def sample_engine(
    real_settings: Settings, model: SentenceTransformerEmbedder, reranker: CrossEncoderReranker
) -> Iterator[Engine]:
    """The real models over the bundled sample article."""
    engine = Engine(real_settings, embedder=model, reranker=reranker)
    report = engine.ingest_paths([SAMPLE_DIR])
    assert report.new == 1, report.problems
    yield engine
    engine.close()


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE_DIR


@pytest.fixture(scope="module")
def rerank_engine(
    tmp_path_factory: pytest.TempPathFactory,
    model: SentenceTransformerEmbedder,
    reranker: CrossEncoderReranker,
) -> Iterator[Engine]:
    """The real models over our own short stories (tests/fixtures/rerank and quality)."""
    engine = Engine(
        Settings(data_dir=tmp_path_factory.mktemp("rerank"), _env_file=None),
        embedder=model,
        reranker=reranker,
    )
    engine.ingest_paths([FIXTURES / "rerank" / "articles.jsonl", FIXTURES / "quality" / "articles.jsonl"])
    yield engine
    engine.close()
