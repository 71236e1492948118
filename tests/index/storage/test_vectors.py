import logging

import faiss
import numpy as np
import pytest

from index.storage.vectors import PassageIndex, from_arrays


def _vectors(n: int, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def built(tmp_path):
    ids, vecs = np.arange(10, 20), _vectors(10)
    index = PassageIndex(tmp_path / "p.faiss", "m", 8)
    index.add(ids, vecs)
    index.save()
    return tmp_path / "p.faiss", ids, vecs


def test_search_finds_the_nearest_and_respects_the_allowed_set(built):
    path, ids, vecs = built
    index = PassageIndex(path, "m", 8)
    index.load(10, rebuild=lambda every: pytest.fail("a good file must not be rebuilt"))
    assert index.search(vecs[3], 1)[0][0] == 13
    hits = index.search(vecs[3], 3, allowed=np.asarray([15, 16]))
    assert {pk for pk, _ in hits} == {15, 16}


def test_a_search_runs_on_one_thread_and_puts_the_setting_back(built, monkeypatch):
    path, _, vecs = built
    index = PassageIndex(path, "m", 8)
    index.load(10, rebuild=lambda every: pytest.fail("a good file must not be rebuilt"))
    seen, search = [], index._search_base

    def counted(*args):
        seen.append(faiss.omp_get_max_threads())
        return search(*args)

    monkeypatch.setattr(index, "_search_base", counted)
    faiss.omp_set_num_threads(2)
    assert index.search(vecs[3], 1)[0][0] == 13
    assert seen == [1] and faiss.omp_get_max_threads() == 2


@pytest.mark.parametrize("damage", ["delete", "truncate", "manifest"])
def test_a_missing_or_damaged_file_is_rebuilt_with_a_log_line(built, damage, caplog):
    path, ids, vecs = built
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:
        path.with_suffix(".json").write_text('{"model": "other", "dim": 8, "count": 10}')
    index = PassageIndex(path, "m", 8)
    with caplog.at_level(logging.WARNING):
        index.load(10, rebuild=from_arrays(ids, vecs))
    assert "rebuilding" in caplog.text
    assert index.count == 10
    assert index.search(vecs[0], 1)[0][0] == 10
    PassageIndex(path, "m", 8).load(10, rebuild=lambda every: pytest.fail("the rebuilt file must be saved"))


def test_a_count_that_disagrees_with_sqlite_triggers_a_rebuild(built):
    path, ids, vecs = built
    index = PassageIndex(path, "m", 8)
    index.load(9, rebuild=from_arrays(ids[:9], vecs[:9]))
    assert index.count == 9


def test_remove(built):
    path, ids, vecs = built
    index = PassageIndex(path, "m", 8)
    index.load(10, rebuild=from_arrays(ids, vecs))
    index.remove([13])
    assert all(pk != 13 for pk, _ in index.search(vecs[3], 10))
