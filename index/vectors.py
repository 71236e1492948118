"""The FAISS index of passage vectors: a file in the data dir, rebuilt from SQLite when in doubt.

The file is written atomically (temp file + rename) next to a JSON manifest naming the model,
dimension and vector count. A missing, damaged or mismatched file is rebuilt from the vectors that
SQLite keeps, with a log line saying why; nothing is re-embedded.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

RebuildSource = Callable[[], tuple[np.ndarray, np.ndarray]]


class PassageIndex:
    """Exact inner-product search over unit vectors, keyed by passage pk."""

    def __init__(self, path: Path, model: str, dim: int) -> None:
        self.path = path
        self.manifest_path = path.with_suffix(".json")
        self.model = model
        self.dim = dim
        self.index = self._empty()

    def _empty(self) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def load(self, expected_count: int, rebuild: RebuildSource) -> None:
        """Load the file if it matches the manifest and SQLite; otherwise rebuild and save."""
        problem = self._problem(expected_count)
        if problem is None:
            return
        if problem != "no index yet" or expected_count:
            log.warning("FAISS index %s: %s; rebuilding it from SQLite", self.path, problem)
        ids, vectors = rebuild()
        self.index = self._empty()
        self.add(ids, vectors)
        self.save()

    def _problem(self, expected_count: int) -> str | None:
        if not self.path.exists() or not self.manifest_path.exists():
            return "no index yet"
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable manifest ({exc})"
        wanted = {"model": self.model, "dim": self.dim, "count": expected_count}
        got = {key: manifest.get(key) for key in wanted}
        if got != wanted:
            return f"manifest {got} does not match {wanted}"
        try:
            index = faiss.read_index(str(self.path))
        except RuntimeError as exc:
            return f"damaged file ({str(exc).splitlines()[0]})"
        if index.ntotal != expected_count or index.d != self.dim:
            return f"file holds {index.ntotal} vectors of dim {index.d}"
        self.index = index
        return None

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove(self, ids: list[int]) -> None:
        if ids:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (passage pk, cosine) pairs; ``allowed`` restricts the search before the cut."""
        if not self.count or k <= 0:
            return []
        params = None
        if allowed is not None:
            if not len(allowed):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self) -> None:
        """Write index then manifest, each via a temp file and an atomic rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, faiss.serialize_index(self.index).tobytes())
        manifest = {"model": self.model, "dim": self.dim, "count": self.count}
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=2).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
