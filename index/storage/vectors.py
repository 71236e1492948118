"""The FAISS index of passage vectors: files in the data dir, rebuilt from SQLite when in doubt.

Which index: `create_index` picks exact search (a flat inner-product index) below `ANN_THRESHOLD`
vectors, where it is fast enough and needs no training, and IVF with 8-bit scalar quantization (SQ8)
from there on, where flat float32 would cost 1.5 GB and ~190 ms a question at a million passages
(IVF-SQ8: 0.4 GB and ~3 ms). With `nlist_for(count)` lists and `DEFAULT_NPROBE` probes its
recall@60 against exact search stays >= 0.95 on MiniLM vectors from 17k to 1M passages
(bench/ann_recall.py measures it).

Files, named after ``path`` (``passages.faiss``):

- ``passages.faiss``, the base: written whole, only by a rebuild or a merge; memory-mapped on load.
- ``passages.delta``, the delta: vectors added since the base was written (searched exactly) and the
  base pks removed since (tombstones, left out of base searches). Small, rewritten by every save, so
  adding 10 passages to a million costs milliseconds; `merge` folds it into a new base.
- ``passages.json``, the manifest, written last: model, dim, count, kind, nprobe, the caller's
  generation and what identifies the other two files' content (the base's size and CRC-32, the
  delta's hash), never their times: a data dir copied or restored from a backup opens as it is.
  Each file is written to a temp file and renamed, so a crash leaves old or new files, never half
  ones; a manifest that does not match the caller's count or generation, or the files beside it,
  means a rebuild from SQLite (never a re-embedding), with a log line saying why.

Who writes: only the writer (the caller holding the data dir's writer lock, `index.storage.locks`) saves.
Another process, or a thread without the lock, that finds the files stale rebuilds in memory only
(``load(..., persist=False)``) and leaves them to the writer, which would otherwise fold a base it
never wrote into its own. A rebuild streams SQLite's vectors a chunk at a time into the new index.

Threads: FAISS searches an index nobody modifies safely from many threads, so searches run in
parallel, each holding the shared side of a readers-writer lock. Writers (`load`, `add`, `remove`,
`save`, `merge`) queue on one write lock, so one runs at a time; the moments that change what a search
sees (an add or removal in memory, the swap of a merged base) also take the exclusive side. A merge
builds the new base while searches go on against the old one; other writers wait for it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import os
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import get_args

import faiss
import numpy as np

from index.core.settings import VectorKind, VectorSettings

log = logging.getLogger(__name__)

Chunks = Iterable[tuple[np.ndarray, np.ndarray]]
# The passages to build from, as (pks, vectors) chunks: every n-th article's for n > 1 (a sample to
# train IVF lists on), all of them for 1.
RebuildSource = Callable[[int], Chunks]

# The kinds and their defaults are the settings' (NEWSBOT_VECTOR_INDEX, NEWSBOT_ANN_THRESHOLD).
KINDS: tuple[str, ...] = get_args(VectorKind)
DEFAULT_KIND: str = VectorSettings.model_fields["vector_index"].default
ANN_THRESHOLD: int = VectorSettings.model_fields["ann_threshold"].default
TRAIN_SAMPLE = 100_000  # IVF k-means trains on at most this many vectors: a 1M rebuild takes < 1 min
MIN_POINTS_PER_LIST = 39  # FAISS's own floor for a reliable k-means
KMEANS_ITERATIONS = 10  # recall measured the same as with FAISS's default 25, in under half the time
DEFAULT_NPROBE = 128  # recall@60 0.96-0.99 on question vectors at 17k, 100k, 200k and 1M passages
MERGE_MIN = 10_000  # save() folds the delta once its additions and removals pass this many ...
MERGE_FRACTION = 0.02  # ... or this share of the base, whichever is more
FORMAT = 3  # the file layout; a manifest of another format is rebuilt, but for ...
TIMED_FORMAT = 2  # ... the one before, which knew the base by its size and mtime (the layout is the same)

_NO_INDEX = "no index yet"


def resolve_kind(kind: str, count: int, threshold: int = ANN_THRESHOLD) -> str:
    """``"flat"`` or ``"ivf"`` for `count` vectors: ``"auto"`` is exact below `threshold`."""
    if kind not in KINDS:
        raise ValueError(f"unknown vector index kind {kind!r}: choose one of {', '.join(KINDS)}")
    if kind == "auto":
        return "ivf" if count >= threshold else "flat"
    return kind


def nlist_for(count: int) -> int:
    """IVF lists for `count` vectors: the power of two nearest 2*sqrt(count), with enough training points.

    More lists than the textbook sqrt(count) cost a little training but made each probe cheaper: recall
    depends on how many lists are probed far more than on how many there are.
    """
    points = min(count, TRAIN_SAMPLE) // MIN_POINTS_PER_LIST
    if points < 2:
        return 1
    return min(2 ** round(math.log2(2 * math.sqrt(count))), 2 ** int(math.log2(points)))


def create_index(kind: str, dim: int, count: int, threshold: int = ANN_THRESHOLD) -> faiss.Index:
    """An empty index for `count` unit vectors: exact (IDMap2 over Flat) or IVF-SQ8, still to be trained."""
    if resolve_kind(kind, count, threshold) == "flat":
        return faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)
    nlist = nlist_for(count)
    index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = KMEANS_ITERATIONS
    index.cp.spherical = True  # unit vectors: keep the centroids on the sphere too
    index.nprobe = min(nlist, DEFAULT_NPROBE)
    return index


def build_index(
    kind: str, dim: int, count: int, source: RebuildSource, threshold: int = ANN_THRESHOLD
) -> faiss.Index:
    """`create_index` for `count` vectors, filled from `source` a chunk at a time: memory for the index
    and one chunk, never for every vector (at a million passages, all of them twice over took 3.7 GB).

    An IVF index is first trained on every n-th article's passages, n picked for between one and two
    `TRAIN_SAMPLE`s of vectors, cut down to one at random: one more pass, over a tenth of the
    passages at a million. Below two samples that pass reads everything, and is kept for the adding.
    """
    index = create_index(kind, dim, count, threshold)
    if not isinstance(index, faiss.IndexIVF):
        _add(index, source(1))
        return index
    every = max(1, count // TRAIN_SAMPLE)
    ids, vectors = _joined(source(every), dim)
    if len(ids):
        sample = vectors
        if len(vectors) > TRAIN_SAMPLE:
            sample = vectors[np.sort(np.random.default_rng(0).choice(len(vectors), TRAIN_SAMPLE, False))]
        index.train(sample)
        del sample
    if every == 1:
        _add(index, [(ids, vectors)])
    else:
        del ids, vectors  # only a sample: freed before the adding
        _add(index, source(1))
    return index


def _joined(chunks: Chunks, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The chunks as one (pks, float32 vectors) pair."""
    parts = [(ids, vectors) for ids, vectors in chunks if len(ids)]
    if not parts:
        return _NO_IDS, np.zeros((0, dim), dtype=np.float32)
    ids = np.concatenate([ids for ids, _ in parts]).astype(np.int64, copy=False)
    vectors = np.concatenate([vectors for _, vectors in parts]).astype(np.float32, copy=False)
    return ids, np.ascontiguousarray(vectors)


def _add(index: faiss.Index, chunks: Chunks) -> None:
    for ids, vectors in chunks:
        if len(ids):
            index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )


def from_arrays(ids: np.ndarray, vectors: np.ndarray) -> RebuildSource:
    """A `RebuildSource` over vectors already in memory (every n-th vector for a sample)."""
    return lambda every: [(ids[::every], vectors[::every])]


@contextmanager
def _one_omp_thread() -> Iterator[None]:
    """One query runs on its own thread: FAISS's OpenMP threads only contend for two busy cores (an 11k
    flat search took 3-6 ms with two, 0.9 ms with one) and questions already run in parallel threads.
    The setting is the calling thread's own, put back after: builds and merges keep all threads."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class PassageIndex:
    """Passage vectors keyed by passage pk: a base index and a small exact delta, searched as one."""

    def __init__(
        self, path: Path, model: str, dim: int, *, kind: str = DEFAULT_KIND, threshold: int = ANN_THRESHOLD
    ) -> None:
        resolve_kind(kind, 0, threshold)  # refuse an unknown kind now, not at the first rebuild
        self.path = path
        self.delta_path = path.with_suffix(".delta")
        self.manifest_path = path.with_suffix(".json")
        self.model = model
        self.dim = dim
        self.kind = kind
        self.threshold = threshold
        self.generation: int | None = None  # the caller's, as of the last save or load
        self._write_lock = threading.Lock()
        self._rw = _ReadWriteLock()
        self._base_saved = False  # whether self.path holds self._base
        self._dirty = False  # changes since the files were last written
        self._format: int | None = None  # the manifest's, as last read or written
        self._source: RebuildSource | None = None  # SQLite's passages, as `load` was given them
        self._install(create_index(kind, dim, 0, threshold), _empty_delta(dim), _NO_IDS)

    @property
    def count(self) -> int:
        with self._rw.shared():
            return self._live()

    @property
    def saved(self) -> bool:
        """Whether the files hold this index under a manifest of this format: not after a rebuild in
        memory, unsaved changes or an older manifest, until the writer's `save`."""
        return self._base_saved and not self._dirty and self._format == FORMAT

    @property
    def saved_generation(self) -> int | None:
        """The generation the manifest on disk records (None if unreadable): what another process's
        `load` would open, read afresh so that a reader learns when the writer has saved."""
        try:
            return json.loads(self.manifest_path.read_text()).get("generation")
        except (OSError, ValueError, AttributeError):
            return None

    @property
    def needs_merge(self) -> bool:
        """Whether the delta has grown enough to fold, or the index has outgrown exact search."""
        pending = self._delta.ntotal + len(self._removed)
        promote = self.kind == "auto" and not _trained_ivf(self._base) and self._live() >= self.threshold
        return promote or pending > max(MERGE_MIN, MERGE_FRACTION * self._base.ntotal)

    @property
    def outgrown(self) -> bool:
        """Whether the IVF base was trained for a corpus a quarter of the size or less: its lists,
        probed `DEFAULT_NPROBE` at a time, then hold four times as many vectors each, and a search
        reads four times as many (at 1M passages grown from 100k: 12 ms a search, against 3)."""
        base = self._base
        return _trained_ivf(base) and nlist_for(self._live()) >= 2 * base.nlist

    @property
    def info(self) -> dict[str, object]:
        """What stats and benchmarks show: index type, lists and probes, vectors in base and delta."""
        with self._rw.shared():
            base, ivf = self._base, isinstance(self._base, faiss.IndexIVF)
            delta_bytes = self._delta.ntotal * (4 * self.dim + 8)
            if ivf:
                base_bytes = base.ntotal * (base.code_size + 8) + base.nlist * self.dim * 4
            else:
                base_bytes = base.ntotal * (4 * self.dim + 8)
            return {
                "kind": self.kind,
                "index": "ivf" if ivf else "flat",
                "nlist": base.nlist if ivf else None,
                "nprobe": base.nprobe if ivf else None,
                "base": int(base.ntotal),
                "removed": len(self._removed),
                "delta": int(self._delta.ntotal),
                "generation": self.generation,
                "vector_bytes": int(base_bytes + delta_bytes),
            }

    def load(
        self,
        expected_count: int,
        rebuild: RebuildSource,
        generation: int | None = None,
        *,
        persist: bool = True,
        behind_ok: bool = False,
    ) -> None:
        """Open the files if they match the caller's count (and generation, when given) and each other;
        otherwise rebuild from `rebuild`'s passages, and save them only if `persist` (the writer).

        ``behind_ok`` (a reader while a writer is busy): files saved at an older generation open as
        they are if they agree with each other, since the writer saves what it has committed within
        seconds (`Engine.refresh` then follows), where a rebuild would take minutes at a million."""
        with self._write_lock:
            self._source = rebuild
            problem = self._open(expected_count, generation, behind_ok)
            if problem is None:
                return
            if problem != _NO_INDEX or expected_count:
                where = "" if persist else " in memory (the files are the writer's to save)"
                log.warning("FAISS index %s: %s; rebuilding it from SQLite%s", self.path, problem, where)
            base = self._built(rebuild, expected_count)
            if persist:
                self._write_base(base)
                self._write_state(generation)
            else:
                self._install(base, _empty_delta(self.dim), _NO_IDS)
                self._base_saved, self._dirty, self.generation = False, True, generation

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under new pks (to the delta: nothing is written until `save`)."""
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._write_lock, self._rw.exclusive():
            self._delta.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
            self._dirty = True

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Drop pks from the delta, and tombstone those in the base until the next merge."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        if not len(ids):
            return
        with self._write_lock, self._rw.exclusive():
            self._delta.remove_ids(ids)
            in_base = ids[_members(self._base_ids, ids)]
            self._set_removed(np.union1d(self._removed, in_base))
            self._dirty = True

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (passage pk, cosine) pairs, best first; ``allowed`` restricts the search before the cut."""
        if k <= 0 or (allowed is not None and not len(allowed)):
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
        with self._rw.shared(), _one_omp_thread():
            hits = self._search_base(query, k, allowed) + self._search_delta(query, k, allowed)
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    def save(self, generation: int | None = None) -> None:
        """Write the delta and then the manifest, recording the caller's `generation`; when the delta has
        grown enough (`needs_merge`) fold it into a new base first, and when the passages have outgrown
        the IVF base's lists (`outgrown`), build the base afresh from SQLite instead. So the caller saves
        once the index holds what SQLite committed, as the one writer does after its adds."""
        with self._write_lock:
            if self.outgrown and self._source is not None:
                self._write_base(self._built(self._source, self._live()))
            elif self.needs_merge or not self._base_saved:
                self._fold()
            self._write_state(generation)

    def loading(self) -> AbstractContextManager[None]:
        """Nothing to defer: adds go to the delta, which `save` folds into the base once it has grown."""
        return nullcontext()

    def merge(self) -> None:
        """Fold the delta and tombstones into a new base, written and swapped in while searches go on.

        Safe from a background thread. Unsaved changes get folded too, so the manifest then records no
        generation: a crash before the next `save` makes the next `load` rebuild, as it should.
        """
        with self._write_lock:
            if not (self._delta.ntotal or len(self._removed) or self.needs_merge):
                return
            generation = None if self._dirty else self.generation
            self._fold()
            self._write_state(generation)

    # -- internals: writers hold self._write_lock; searches hold self._rw's shared side -------------

    def _live(self) -> int:
        return int(self._base.ntotal - len(self._removed) + self._delta.ntotal)

    def _install(self, base: faiss.Index, delta: faiss.IndexIDMap2, removed: np.ndarray) -> None:
        base_ids = _ids_of(base)
        with self._rw.exclusive():
            self._base, self._base_ids, self._delta = base, base_ids, delta
            self._set_removed(removed)

    def _set_removed(self, removed: np.ndarray) -> None:
        self._removed = removed
        self._not_removed = faiss.IDSelectorNot(faiss.IDSelectorBatch(removed)) if len(removed) else None

    def _search_base(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        base = self._base
        live = base.ntotal - len(self._removed)
        if live <= 0:
            return []
        selector = self._not_removed
        nprobe = base.nprobe if isinstance(base, faiss.IndexIVF) else 0
        if allowed is not None:
            mine = allowed[_members(self._base_ids, allowed) & ~np.isin(allowed, self._removed)]
            if not len(mine):
                return []
            selector = faiss.IDSelectorBatch(mine)
            # Probe enough lists to meet as many allowed vectors as an unfiltered search meets vectors.
            nprobe = min(base.nlist, math.ceil(nprobe * live / len(mine))) if nprobe else 0
        if nprobe:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        return _hits(*base.search(query, k, params=params))

    def _search_delta(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        if not self._delta.ntotal:
            return []
        params = None if allowed is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        return _hits(*self._delta.search(query, k, params=params))

    def _fold(self) -> None:
        """Write the base that base, tombstones and delta make together, and swap it in.

        The base keeps its kind and trained lists, except that a flat (or untrained) base due to become
        IVF is built afresh from its exact vectors, as a rebuild would.
        """
        ids, vectors = _contents(self._delta)
        if not _trained_ivf(self._base) and resolve_kind(self.kind, self._live(), self.threshold) == "ivf":
            if self._base.ntotal:
                base_ids, base_vectors = _contents(self._base)
                kept = ~np.isin(base_ids, self._removed)
                ids = np.concatenate([base_ids[kept], ids])
                vectors = np.concatenate([base_vectors[kept], vectors])
            self._write_base(build_index("ivf", self.dim, len(ids), from_arrays(ids, vectors)))
            return
        # Change a copy (searches go on against the base): read from the file, as the mapped base is
        # read-only, or of one never written (empty, or a reader's rebuild in memory).
        base = faiss.read_index(str(self.path)) if self._base_saved else faiss.clone_index(self._base)
        if len(self._removed):
            base.remove_ids(self._removed)
        if len(ids):
            base.add_with_ids(vectors, ids)
        self._write_base(base)

    def _built(self, source: RebuildSource, count: int) -> faiss.Index:
        """A base built afresh from `source`'s `count` passages, lists sized for them."""
        started = time.perf_counter()
        base = build_index(self.kind, self.dim, count, source, self.threshold)
        log.info(
            "built the base of %s: %d vectors in %.1fs", self.path, base.ntotal, time.perf_counter() - started
        )
        return base

    def _write_base(self, base: faiss.Index) -> None:
        """Write a new base and swap in its memory-mapped file, with an empty delta."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, lambda tmp: faiss.write_index(base, tmp))
        self._install(_read_base(self.path), _empty_delta(self.dim), _NO_IDS)
        self._base_saved = True
        self._dirty = True  # until the delta and manifest that go with it are written

    def _write_state(self, generation: int | None) -> None:
        """Write the delta, then the manifest that vouches for it and the base."""
        data = _delta_bytes(self._delta, self._removed)
        _atomic_write(self.delta_path, lambda tmp: Path(tmp).write_bytes(data))
        base = self._base
        ivf = isinstance(base, faiss.IndexIVF)
        manifest = {
            "format": FORMAT,
            "model": self.model,
            "dim": self.dim,
            "kind": self.kind,
            "count": self._live(),
            "generation": generation,
            "index": "ivf" if ivf else "flat",
            "nlist": base.nlist if ivf else None,
            "nprobe": base.nprobe if ivf else None,
            "base": {
                "count": int(base.ntotal),
                "bytes": self.path.stat().st_size,
                "crc32": _checksum(self.path),
            },
            "delta": {
                "count": int(self._delta.ntotal),
                "removed": len(self._removed),
                "blake2b": _digest(data),
            },
        }
        _atomic_write(self.manifest_path, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=2)))
        self.generation = generation
        self._dirty, self._format = False, FORMAT

    def _open(self, expected_count: int, generation: int | None, behind_ok: bool) -> str | None:
        """Install the files if the manifest vouches for them and the caller; otherwise say what is wrong."""
        if not self.path.exists() or not self.manifest_path.exists():
            return _NO_INDEX
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            return f"unreadable manifest ({exc})"
        if not isinstance(manifest, dict):
            return "unreadable manifest (not an object)"
        saved_at, saved_count = manifest.get("generation"), manifest.get("count")
        behind = (
            behind_ok
            and isinstance(saved_at, int)
            and isinstance(saved_count, int)
            and generation is not None
            and saved_at < generation
        )
        wanted = {
            "format": manifest.get("format") if manifest.get("format") in (FORMAT, TIMED_FORMAT) else FORMAT,
            "model": self.model,
            "dim": self.dim,
            "kind": self.kind,
            "count": saved_count if behind else expected_count,
        }
        if generation is not None and not behind:
            wanted["generation"] = generation
        got = {key: manifest.get(key) for key in wanted}
        if got != wanted:
            return f"manifest {got} does not match {wanted}"
        if behind:
            expected_count = saved_count
        base_info, delta_info = manifest.get("base") or {}, manifest.get("delta") or {}
        if not _same_base(self.path, base_info, manifest["format"]):
            return f"{self.path.name} changed after the manifest was written (an interrupted merge?)"
        try:
            base = _read_base(self.path)
        except RuntimeError as exc:
            return f"damaged file ({str(exc).splitlines()[0]})"
        if base.d != self.dim or base.ntotal != base_info.get("count"):
            return f"{self.path.name} holds {base.ntotal} vectors of dim {base.d}"
        try:
            data = self.delta_path.read_bytes()
        except OSError as exc:
            return f"unreadable delta ({exc})"
        if _digest(data) != delta_info.get("blake2b"):
            return f"{self.delta_path.name} does not match the manifest (an interrupted save?)"
        delta, removed = _parse_delta(data, self.dim)
        if base.ntotal - len(removed) + delta.ntotal != expected_count:
            return f"the files hold {base.ntotal - len(removed) + delta.ntotal} vectors"
        if isinstance(base, faiss.IndexIVF):
            base.nprobe = manifest.get("nprobe") or base.nprobe
        self._install(base, delta, removed)
        self.generation = saved_at
        self._base_saved, self._dirty, self._format = True, False, manifest["format"]
        return None


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers, so it cannot starve."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


_NO_IDS = np.zeros(0, dtype=np.int64)


def _empty_delta(dim: int) -> faiss.IndexIDMap2:
    return faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)


def _trained_ivf(index: faiss.Index) -> bool:
    return isinstance(index, faiss.IndexIVF) and index.is_trained


def _read_base(path: Path) -> faiss.Index:
    """Memory-map the file: a million-vector base opens in milliseconds and its pages are shared."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


def _ids_of(index: faiss.Index) -> np.ndarray:
    """The pks an index holds, sorted (for `_members`)."""
    if not isinstance(index, faiss.IndexIVF):
        return np.sort(faiss.vector_to_array(index.id_map))
    lists = index.invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(index.nlist)
        if lists.list_size(i)
    ]
    return np.sort(np.concatenate(parts)) if parts else _NO_IDS


def _contents(index: faiss.IndexIDMap2) -> tuple[np.ndarray, np.ndarray]:
    """The (pks, vectors) of an exact index."""
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    return ids, index.index.reconstruct_n(0, index.ntotal)


def _members(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Which of `ids` are in `sorted_ids`: binary search, cheap against a million base pks."""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return sorted_ids[at] == ids


def _hits(scores: np.ndarray, ids: np.ndarray) -> list[tuple[int, float]]:
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]


def _delta_bytes(delta: faiss.IndexIDMap2, removed: np.ndarray) -> bytes:
    ids, vectors = _contents(delta)
    buffer = io.BytesIO()
    np.savez(buffer, ids=ids, vectors=vectors, removed=removed)
    return buffer.getvalue()


def _parse_delta(data: bytes, dim: int) -> tuple[faiss.IndexIDMap2, np.ndarray]:
    with np.load(io.BytesIO(data)) as arrays:
        ids, vectors, removed = arrays["ids"], arrays["vectors"], arrays["removed"]
    delta = _empty_delta(dim)
    if len(ids):
        delta.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return delta, removed.astype(np.int64)


def _same_base(path: Path, recorded: dict, manifest_format: int) -> bool:
    """Whether the base file is the one the manifest recorded: by size and content, or for a manifest
    of the format before, which knew only those, by size and mtime (a copy of it is rebuilt once)."""
    stat = path.stat()
    if recorded.get("bytes") != stat.st_size:
        return False
    if manifest_format == TIMED_FORMAT:
        return recorded.get("mtime_ns") == stat.st_mtime_ns
    return recorded.get("crc32") == _checksum(path)


def _checksum(path: Path) -> int:
    """The file's CRC-32 (~3 GB/s: 0.1 s for a million passages' IVF base, read 4 MiB at a time).

    Remembered for the file as it is (same inode, size and change times): a reader reloads after each
    of the writer's saves, every few seconds while it ingests, and most leave the base as it was."""
    stat = path.stat()
    return _checksum_of(
        str(path), (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    )


@functools.lru_cache(maxsize=8)
def _checksum_of(path: str, version: tuple[int, ...]) -> int:
    crc = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            crc = zlib.crc32(block, crc)
    return crc


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """`write` a temp file beside `path`, flush it and rename it over `path`: old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
