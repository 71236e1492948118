"""The tiny reranker corpus (tests/fixtures/rerank) ingested with the real model, for the bench scripts'
tests that run them end to end."""

from pathlib import Path

from index.core.settings import Settings
from index.engine import Engine
from index.storage.embed import Embedder
from tests.conftest import FIXTURES


def ingested(tmp_path: Path, model: Embedder) -> Path:
    """A data dir holding the corpus's three articles."""
    data = tmp_path / "data"
    engine = Engine(Settings(data_dir=data, rerank=False, _env_file=None), embedder=model)
    assert engine.ingest_paths([FIXTURES / "rerank" / "articles.jsonl"]).new == 3
    engine.close()
    return data
