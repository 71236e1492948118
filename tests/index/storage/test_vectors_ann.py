"""The vector index at scale: the factory, the approximate (IVF) index, the delta file and merges.

Synthetic clustered unit vectors stand in for passages: deterministic, and easy enough that an
approximate search must agree with an exact one.
"""

import logging
import threading

import faiss
import numpy as np
import pytest

import index.storage.vectors as vectors
from index.storage.vectors import (
    DEFAULT_NPROBE,
    PassageIndex,
    RebuildSource,
    create_index,
    from_arrays,
    nlist_for,
)

DIM = 16
N = 2000
FIRST_PK = 1000


def _clustered(n: int, seed: int = 0, clusters: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, DIM))
    v = centers[rng.integers(clusters, size=n)] + 0.3 * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _exact(ids: np.ndarray, vecs: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(ids[i]) for i in np.argsort(-(vecs @ query), kind="stable")[:k]]


def _overlap(got: list[tuple[int, float]], wanted: list[int]) -> float:
    return len({pk for pk, _ in got} & set(wanted)) / len(wanted)


def _no_rebuild(every: int) -> list:
    raise AssertionError("these files are good: they must not be rebuilt")


def _first_n() -> RebuildSource:
    """The source of what `_built` built."""
    return from_arrays(np.arange(FIRST_PK, FIRST_PK + N), _clustered(N))


def _built(tmp_path, kind: str, n: int = N, threshold: int = vectors.ANN_THRESHOLD) -> PassageIndex:
    ids, vecs = np.arange(FIRST_PK, FIRST_PK + n), _clustered(n)
    index = PassageIndex(tmp_path / "p.faiss", "m", DIM, kind=kind, threshold=threshold)
    index.load(n, rebuild=from_arrays(ids, vecs), generation=1)
    return index


def _reopened(tmp_path, kind: str, count: int, generation: int | None, rebuild=_no_rebuild) -> PassageIndex:
    index = PassageIndex(tmp_path / "p.faiss", "m", DIM, kind=kind)
    index.load(count, rebuild=rebuild, generation=generation)
    return index


both_kinds = pytest.mark.parametrize("kind", ["flat", "ivf"])


def test_the_factory_picks_exact_search_below_the_threshold_and_ivf_from_it(tmp_path):
    assert isinstance(create_index("auto", DIM, 99, threshold=100), faiss.IndexIDMap2)
    assert isinstance(create_index("auto", DIM, 100, threshold=100), faiss.IndexIVF)
    assert isinstance(create_index("flat", DIM, 10**7, threshold=100), faiss.IndexIDMap2)
    assert isinstance(create_index("ivf", DIM, 10, threshold=100), faiss.IndexIVF)
    with pytest.raises(ValueError, match="unknown vector index kind 'hnsw'"):
        create_index("hnsw", DIM, 10)
    assert (nlist_for(10), nlist_for(17_882), nlist_for(1_000_000)) == (1, 256, 2048)
    assert create_index("ivf", DIM, 1_000_000).nprobe == DEFAULT_NPROBE
    assert _built(tmp_path / "small", "auto", n=400, threshold=500).info["index"] == "flat"
    assert _built(tmp_path / "large", "auto", n=600, threshold=500).info["index"] == "ivf"


def test_a_small_forced_ivf_index_finds_what_exact_search_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "DEFAULT_NPROBE", 8)  # of 64 lists: a real approximation
    index = _built(tmp_path, "ivf", n=3000)
    assert (index.info["nlist"], index.info["nprobe"]) == (64, 8)
    ids, vecs = np.arange(FIRST_PK, FIRST_PK + 3000), _clustered(3000)
    queries = _clustered(50, seed=1)
    recall = np.mean([_overlap(index.search(q, 10), _exact(ids, vecs, q, 10)) for q in queries])
    assert recall >= 0.9
    assert _reopened(tmp_path, "ivf", 3000, generation=1).info["nprobe"] == 8  # the manifest's, reloaded


def test_a_stale_generation_is_rebuilt_with_a_log_line(tmp_path, caplog):
    _built(tmp_path, "flat")
    calls = []

    def rebuild(every: int):
        calls.append(1)
        return _first_n()(every)

    with caplog.at_level(logging.WARNING):
        _reopened(tmp_path, "flat", N, generation=2, rebuild=rebuild)
    assert calls == [1]
    assert "'generation': 1" in caplog.text and "rebuilding" in caplog.text
    _reopened(tmp_path, "flat", N, generation=2)  # the rebuilt files carry the new generation


def test_another_kind_is_rebuilt(tmp_path, caplog):
    _built(tmp_path, "flat")
    with caplog.at_level(logging.WARNING):
        index = _reopened(tmp_path, "ivf", N, 1, rebuild=_first_n())
    assert "'kind': 'flat'" in caplog.text
    assert index.info["index"] == "ivf"


@both_kinds
def test_a_crash_between_the_delta_and_the_manifest_is_caught_at_the_next_load(
    tmp_path, monkeypatch, caplog, kind
):
    index = _built(tmp_path, kind)
    index.add(np.arange(5), _clustered(5, seed=2))
    write = vectors._atomic_write

    def crash_before_the_manifest(path, data):
        if path.suffix == ".json":
            raise KeyboardInterrupt("power cut")
        write(path, data)

    monkeypatch.setattr(vectors, "_atomic_write", crash_before_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        index.save(generation=2)
    monkeypatch.undo()
    with caplog.at_level(logging.WARNING):  # the old manifest matches the old count and generation ...
        _reopened(tmp_path, kind, N, 1, rebuild=_first_n())
    assert "p.delta does not match the manifest" in caplog.text  # ... but not the delta beside it


def test_a_crash_in_a_merge_after_the_new_base_is_caught_at_the_next_load(tmp_path, monkeypatch, caplog):
    index = _built(tmp_path, "ivf")
    index.remove([FIRST_PK])
    index.add(np.arange(5), _clustered(5, seed=2))
    write = vectors._atomic_write

    def crash_after_the_base(path, data):
        if path.suffix != ".faiss":
            raise KeyboardInterrupt("power cut")
        write(path, data)

    monkeypatch.setattr(vectors, "_atomic_write", crash_after_the_base)
    with pytest.raises(KeyboardInterrupt):
        index.merge()
    monkeypatch.undo()
    with caplog.at_level(logging.WARNING):
        _reopened(tmp_path, "ivf", N, 1, rebuild=_first_n())
    assert "p.faiss changed after the manifest was written" in caplog.text


@both_kinds
def test_added_vectors_are_saved_in_the_delta_and_found_after_a_reload(tmp_path, kind):
    index = _built(tmp_path, kind)
    base_file = (tmp_path / "p.faiss").stat()
    new = _clustered(10, seed=3)
    index.add(np.arange(10), new)
    index.save(generation=2)
    assert (tmp_path / "p.faiss").stat().st_mtime_ns == base_file.st_mtime_ns  # the base is not rewritten
    assert (tmp_path / "p.delta").stat().st_size < 2000
    reopened = _reopened(tmp_path, kind, N + 10, generation=2)
    assert reopened.info["delta"] == 10
    assert [reopened.search(v, 1)[0][0] for v in new] == list(range(10))
    assert reopened.count == N + 10


@both_kinds
def test_a_merge_keeps_the_results(tmp_path, kind):
    index = _built(tmp_path, kind)
    index.add(np.arange(30), _clustered(30, seed=4))
    index.remove([*range(FIRST_PK, FIRST_PK + 10), *range(10)])
    queries = _clustered(20, seed=5)
    before = [index.search(q, 10) for q in queries]
    index.merge()
    assert (index.info["delta"], index.info["removed"], index.count) == (0, 0, N + 10)
    after = [index.search(q, 10) for q in queries]
    if kind == "flat":
        assert [[pk for pk, _ in hits] for hits in after] == [[pk for pk, _ in hits] for hits in before]
    else:  # the delta's exact vectors are now 8-bit codes: scores move a little
        assert np.mean([_overlap(a, [pk for pk, _ in b]) for a, b in zip(after, before, strict=True)]) >= 0.95
    index.save(generation=2)
    assert _reopened(tmp_path, kind, N + 10, generation=2).search(queries[0], 1)[0][0] == after[0][0][0]


def test_a_merge_with_unsaved_changes_records_no_generation(tmp_path):
    index = _built(tmp_path, "flat")
    index.add(np.arange(3), _clustered(3, seed=6))
    index.merge()  # folds an add that no save vouched for: the caller's generation 1 no longer fits
    calls = []
    _reopened(
        tmp_path,
        "flat",
        N + 3,
        1,
        rebuild=lambda every: calls.append(1) or [(np.arange(3), _clustered(3, seed=6))],
    )
    assert calls == [1]


@both_kinds
def test_the_allowed_filter_restricts_before_the_cut(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(vectors, "DEFAULT_NPROBE", 1)  # a filter must widen the probes to find its few pks
    index = _built(tmp_path, kind)
    index.add(np.arange(10), _clustered(10, seed=7))
    rng = np.random.default_rng(8)
    allowed = np.concatenate([rng.choice(np.arange(FIRST_PK, FIRST_PK + N), 15, replace=False), [3, 4]])
    ids = np.concatenate([np.arange(FIRST_PK, FIRST_PK + N), np.arange(10)])
    vecs = np.concatenate([_clustered(N), _clustered(10, seed=7)])
    mask = np.isin(ids, allowed)
    for q in _clustered(10, seed=9):
        hits = index.search(q, 5, allowed=allowed)
        assert {pk for pk, _ in hits} <= set(allowed.tolist()) and len(hits) == 5
        assert _overlap(hits, _exact(ids[mask], vecs[mask], q, 5)) >= 0.8
    assert index.search(vecs[0], 5, allowed=np.asarray([], dtype=np.int64)) == []
    index.remove([int(allowed[0])])
    assert index.search(vecs[0], 5, allowed=allowed[:1]) == []


@both_kinds
def test_removals_work_across_base_and_delta_and_persist(tmp_path, kind):
    index = _built(tmp_path, kind)
    vecs = _clustered(N)
    new = _clustered(10, seed=10)
    index.add(np.arange(10), new)
    gone = [FIRST_PK, FIRST_PK + 1, FIRST_PK + 2, 0, 1]
    index.remove(gone)
    assert index.count == N + 10 - 5
    for v in [vecs[0], vecs[1], vecs[2], new[0], new[1]]:
        assert not {pk for pk, _ in index.search(v, 50)} & set(gone)
    index.save(generation=2)
    reopened = _reopened(tmp_path, kind, N + 5, generation=2)
    assert not {pk for pk, _ in reopened.search(vecs[0], 50)} & set(gone)
    reopened.add(np.asarray([FIRST_PK]), new[5:6])  # SQLite may hand a removed pk out again
    assert reopened.search(new[5], 2)[0][0] in (FIRST_PK, 5)
    assert {pk for pk, _ in reopened.search(new[5], 2)} == {FIRST_PK, 5}
    reopened.merge()
    assert reopened.count == N + 6 and {pk for pk, _ in reopened.search(new[5], 2)} == {FIRST_PK, 5}
    assert not {pk for pk, _ in reopened.search(vecs[1], 50)} & {FIRST_PK + 1, FIRST_PK + 2, 0, 1}


def test_auto_moves_to_ivf_when_a_save_crosses_the_threshold(tmp_path):
    index = _built(tmp_path, "auto", n=800, threshold=1000)
    index.add(np.arange(300), _clustered(300, seed=11))
    assert index.info["index"] == "flat" and index.needs_merge
    index.save(generation=2)
    assert index.info["index"] == "ivf" and index.count == 1100
    assert index.search(_clustered(300, seed=11)[7], 1)[0][0] == 7


def test_an_ivf_base_the_passages_have_outgrown_is_built_afresh_from_sqlite_at_a_save(tmp_path):
    """Lists trained at 2,000 passages, probed DEFAULT_NPROBE at a time, would each hold four times as
    many at 8,000: the save rebuilds the base from SQLite's vectors with the lists 8,000 should have."""
    ids, vecs = np.arange(FIRST_PK, FIRST_PK + 4 * N), _clustered(4 * N, seed=13)
    index = PassageIndex(tmp_path / "p.faiss", "m", DIM, kind="ivf")
    index.load(N, rebuild=from_arrays(ids[:N], vecs[:N]), generation=1)
    lists = index.info["nlist"]
    index.load(N, rebuild=from_arrays(ids, vecs), generation=1)  # the files are good: only the source changes
    index.add(ids[N:], vecs[N:])
    assert index.outgrown and lists == nlist_for(N) < nlist_for(4 * N)
    index.save(generation=2)
    assert not index.outgrown and index.info["nlist"] == nlist_for(4 * N)
    assert index.count == 4 * N and index.info["delta"] == 0
    assert _overlap(index.search(vecs[-1], 10), _exact(ids, vecs, vecs[-1], 10)) >= 0.9
    assert _reopened(tmp_path, "ivf", 4 * N, 2).info["nlist"] == nlist_for(4 * N)


def test_searches_run_in_parallel_with_a_writer(tmp_path):
    index = _built(tmp_path, "ivf")
    queries = _clustered(20, seed=12)
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        try:
            while not stop.is_set():
                for q in queries:
                    assert len(index.search(q, 10)) == 10
        except Exception as exc:  # a failure in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    new = _clustered(200, seed=13)
    for start in range(0, 200, 20):
        index.add(np.arange(start, start + 20), new[start : start + 20])
        index.remove([FIRST_PK + start])
        if start == 100:
            index.merge()
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert index.count == N + 200 - 10
