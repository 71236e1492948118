"""Who may write the vector index files, and what makes them current.

Only the writer (the thread holding the data dir's writer lock) writes them: a reader that finds them
stale rebuilds in memory and leaves them as they are. Files are judged by their content and the
store's change generation, never by file times: a copied or restored data dir opens as it is.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import index.reading.ingest as ingest
import index.storage.vectors as vectors
from index.core.models import ArticleIn
from index.engine import Engine
from index.reading.ingest import stored_passage_chunks, stored_passage_vectors
from index.storage import locks
from index.storage.vectors import PassageIndex, build_index, from_arrays

DIM = 16
N = 500


def _unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _no_rebuild(every: int) -> list:
    raise AssertionError("these files are current: they must not be rebuilt")


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every index file's content and modification time."""
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.iterdir())
        if path.name.startswith(("passages.", "p.")) and path.suffix in (".faiss", ".delta", ".json")
    }


def _saved(folder: Path, ids: np.ndarray, vecs: np.ndarray, generation: int = 1) -> Path:
    """Files holding `ids` in the base and a few more in the delta, saved at `generation`."""
    index = PassageIndex(folder / "p.faiss", "m", DIM)
    index.load(len(ids), rebuild=from_arrays(ids, vecs), generation=generation)
    index.add(np.arange(5), _unit(5, seed=9))
    index.save(generation=generation)
    return folder / "p.faiss"


@pytest.fixture
def saved(tmp_path) -> tuple[Path, np.ndarray, np.ndarray]:
    ids, vecs = np.arange(100, 100 + N), _unit(N)
    return _saved(tmp_path, ids, vecs), ids, vecs


def test_a_reader_rebuilds_in_memory_and_leaves_every_file_as_it_was(saved, caplog):
    path, ids, vecs = saved
    before = _files(path.parent)
    more_ids, more_vecs = np.concatenate([ids, [7, 8]]), np.concatenate([vecs, _unit(2, seed=3)])
    reader = PassageIndex(path, "m", DIM)
    with caplog.at_level(logging.WARNING):
        reader.load(N + 2, rebuild=from_arrays(more_ids, more_vecs), generation=2, persist=False)
    assert "in memory" in caplog.text
    assert _files(path.parent) == before
    assert reader.count == N + 2 and reader.generation == 2 and not reader.saved
    assert reader.search(more_vecs[-1], 1)[0][0] == 8
    # The writer, which may, saves what the reader built: the next open needs no rebuild.
    reader.save(generation=2)
    PassageIndex(path, "m", DIM).load(N + 2, rebuild=_no_rebuild, generation=2)


@pytest.mark.parametrize("copy", [shutil.copy2, shutil.copy], ids=["with-times", "without-times"])
def test_copied_files_open_as_they_are(saved, tmp_path, copy):
    path, ids, vecs = saved
    shutil.copytree(path.parent, tmp_path / "copy", copy_function=copy)
    copied = PassageIndex(tmp_path / "copy" / "p.faiss", "m", DIM)
    copied.load(N + 5, rebuild=_no_rebuild, generation=1, persist=False)
    assert copied.saved and copied.search(vecs[3], 1)[0][0] == ids[3]


def test_a_base_of_another_content_is_caught_even_with_the_same_size_and_time(saved, tmp_path, caplog):
    path, ids, _ = saved
    other = _saved(tmp_path / "other", ids, _unit(N, seed=1))  # the same pks, other vectors
    assert other.stat().st_size == path.stat().st_size
    before = path.stat()
    shutil.copyfile(other, path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with caplog.at_level(logging.WARNING):
        PassageIndex(path, "m", DIM).load(
            N + 5, rebuild=from_arrays(ids, _unit(N)), generation=1, persist=False
        )
    assert "p.faiss changed after the manifest was written" in caplog.text


def _as_format_2(path: Path) -> None:
    """The manifest as versions before format 3 wrote it: the base known by its size and time."""
    manifest_path = path.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    stat = path.stat()
    manifest["format"] = 2
    manifest["base"] = {
        "count": manifest["base"]["count"],
        "bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    manifest_path.write_text(json.dumps(manifest))


def test_an_old_manifest_opens_and_the_writer_rewrites_it(saved):
    path, ids, vecs = saved
    _as_format_2(path)
    before = _files(path.parent)
    reader = PassageIndex(path, "m", DIM)
    reader.load(N + 5, rebuild=_no_rebuild, generation=1, persist=False)
    assert _files(path.parent) == before and not reader.saved
    assert reader.search(vecs[3], 1)[0][0] == ids[3]
    reader.save(generation=1)  # as the writer does at its first write (Engine takes care of it)
    manifest = json.loads(path.with_suffix(".json").read_text())
    assert manifest["format"] == vectors.FORMAT and "crc32" in manifest["base"]
    shutil.copytree(path.parent, path.parent.parent / "copy", copy_function=shutil.copy)
    PassageIndex(path.parent.parent / "copy" / "p.faiss", "m", DIM).load(N + 5, _no_rebuild, 1)


def test_an_old_manifest_of_a_copied_dir_is_rebuilt_by_a_reader_in_memory_only(saved, tmp_path):
    path, ids, vecs = saved
    _as_format_2(path)
    shutil.copytree(path.parent, tmp_path / "copy", copy_function=shutil.copy)  # new times
    before = _files(tmp_path / "copy")
    all_ids, all_vecs = np.concatenate([ids, np.arange(5)]), np.concatenate([vecs, _unit(5, seed=9)])
    reader = PassageIndex(tmp_path / "copy" / "p.faiss", "m", DIM)
    reader.load(N + 5, rebuild=from_arrays(all_ids, all_vecs), generation=1, persist=False)
    assert _files(tmp_path / "copy") == before and reader.count == N + 5


def test_a_reader_may_open_files_a_busy_writer_has_not_caught_up_yet(saved):
    path, ids, vecs = saved
    behind = PassageIndex(path, "m", DIM)
    behind.load(N + 9, rebuild=_no_rebuild, generation=2, persist=False, behind_ok=True)
    assert behind.generation == 1 and behind.count == N + 5  # `Engine.refresh` follows the writer's save
    not_busy = PassageIndex(path, "m", DIM)
    not_busy.load(N + 5, rebuild=from_arrays(ids, vecs), generation=2, persist=False)
    assert not_busy.generation == 2  # nobody will catch up: rebuilt (in memory)


def test_a_rebuild_holds_one_chunk_of_vectors_at_a_time():
    """Vectors come from SQLite a chunk at a time and go straight into the index: at a million
    passages, holding them all (several times over) took 3.7 GB."""
    chunk, chunks = 1000, 40

    def source(every: int):
        for n in range(0, chunks, every):
            yield np.arange(n * chunk, (n + 1) * chunk), _unit(chunk, seed=n)

    tracemalloc.start()
    try:
        built = build_index("flat", DIM, chunk * chunks, source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert built.ntotal == chunk * chunks
    assert peak < 4 * chunk * DIM * 8  # a few chunks' worth (float64 while normalising), not 40
    ivf = build_index("ivf", DIM, chunk * chunks, source)
    assert ivf.ntotal == chunk * chunks and ivf.is_trained


# -- the engine: processes on one data dir --------------------------------------------------------


NAMES = ["alder", "birch", "cedar", "dogwood", "elm", "fir", "ginkgo", "hazel"]


def _story(n: int, word: str = "ferry") -> ArticleIn:
    """A story of its own words (the hash test vectors see no digits)."""
    name = NAMES[n]
    return ArticleIn(f"The {name}", f"The {word} {name} sailed from Port Ellis on time.", id=f"s{n}")


def _consistent(settings, monkeypatch) -> None:
    """A fresh engine opens the files without a rebuild, and they hold each passage once."""
    monkeypatch.setattr(vectors, "build_index", lambda *args: pytest.fail("the saved index was rebuilt"))
    fresh = Engine(settings)
    try:
        ids, vecs = stored_passage_vectors(fresh.store, fresh.embedder.dim, settings.passage_title_weight)
        assert fresh.index.count == len(set(ids.tolist())) == fresh.store.count("passages")
        manifest = json.loads(settings.faiss_path.with_suffix(".json").read_text())
        assert manifest["count"] == fresh.index.count and manifest["generation"] == fresh.store.generation()
        assert [fresh.index.search(vec, 1)[0][0] for vec in vecs] == ids.tolist()
    finally:
        fresh.close()
    monkeypatch.undo()


def test_a_reader_engine_never_writes_the_index_files(hash_settings, monkeypatch):
    writer = Engine(hash_settings)
    writer.ingest([_story(n) for n in range(3)])
    # The writer dies after committing, before saving its index: the files fall behind SQLite.
    monkeypatch.setattr(PassageIndex, "save", lambda self, generation=None: None)
    writer.ingest([_story(3, "lighthouse")])
    writer.close()
    monkeypatch.undo()
    before = _files(hash_settings.data_dir)
    reader = Engine(hash_settings)
    best = reader.ask("lighthouse dogwood sailed").answers[0].sentence
    assert best.startswith("The lighthouse dogwood")  # rebuilt in memory ...
    assert _files(hash_settings.data_dir) == before  # ... and not written
    reader.close()
    writer = Engine(hash_settings)
    writer.ingest([_story(4)])  # the writer rebuilds and saves
    writer.close()
    _consistent(hash_settings, monkeypatch)


def test_a_reader_opening_while_the_writer_has_not_saved_yet_writes_nothing(hash_settings, monkeypatch):
    """The reproduction: a reader started between the writer's commit and its save used to rewrite
    the files, and the writer's save then folded the reader's base with its own delta (duplicate ids,
    a manifest count that matched nothing, a rebuild at every start after)."""
    writer = Engine(hash_settings)
    writer.ingest([_story(n) for n in range(3)])
    save = PassageIndex.save
    seen: dict[str, object] = {}

    def reader_opens_first(self: PassageIndex, generation: int | None = None) -> None:
        if not seen:  # another process (a thread here) starts between the commit and the save
            files = _files(hash_settings.data_dir)
            reader = Engine(hash_settings)
            ask = threading.Thread(target=lambda: seen.update(reader=reader, ask=reader.ask("ferry")))
            ask.start()
            ask.join()
            seen["untouched"] = _files(hash_settings.data_dir) == files
            # It opened the files as they were (the writer is busy saving), rather than rebuilding.
            seen["behind"] = reader.index.generation < reader.store.generation()
        save(self, generation)

    monkeypatch.setattr(PassageIndex, "save", reader_opens_first)
    writer.ingest([_story(3, "lighthouse")])
    monkeypatch.undo()
    assert seen["untouched"] and seen["behind"]
    reader = seen["reader"]
    assert isinstance(reader, Engine)
    reader._next_refresh = 0.0  # it follows the writer's save (it looks every few seconds)
    assert reader.ask("lighthouse dogwood sailed").answers[0].sentence.startswith("The lighthouse")
    reader.close()
    writer.ingest([_story(n) for n in range(4, 8)])
    writer.close()
    _consistent(hash_settings, monkeypatch)


@pytest.mark.parametrize("copy", [shutil.copy2, shutil.copy], ids=["with-times", "without-times"])
def test_a_copied_data_dir_opens_without_a_rebuild(hash_settings, monkeypatch, copy):
    engine = Engine(hash_settings)
    engine.ingest([_story(n) for n in range(5)])
    engine.close()
    copied = hash_settings.model_copy(update={"data_dir": hash_settings.data_dir.parent / "copy"})
    shutil.copytree(hash_settings.data_dir, copied.data_dir, copy_function=copy)
    for lock in (locks.WRITER, locks.SERVING):
        (copied.data_dir / lock).unlink(missing_ok=True)
    _consistent(copied, monkeypatch)
    engine = Engine(copied)
    engine.ingest([_story(5)])  # the writer adds to the copy's files as they are
    engine.close()
    _consistent(copied, monkeypatch)


def test_the_rebuild_source_reads_sqlite_a_chunk_at_a_time(hash_engine, monkeypatch):
    hash_engine.ingest([_story(n) for n in range(8)])
    dim, weight = hash_engine.embedder.dim, hash_engine.settings.passage_title_weight
    monkeypatch.setattr(ingest, "REBUILD_ARTICLES", 3)
    chunks = list(stored_passage_chunks(hash_engine.store, dim, weight))
    assert len(chunks) == 3  # 8 articles, 3 at a time
    ids, vecs = stored_passage_vectors(hash_engine.store, dim, weight)
    assert np.concatenate([c for c, _ in chunks]).tolist() == ids.tolist() == list(range(1, 9))
    sample = list(stored_passage_chunks(hash_engine.store, dim, weight, every=4))
    assert np.concatenate([c for c, _ in sample]).tolist() == [4, 8]  # the articles of pk 4 and 8
    assert np.array_equal(np.concatenate([v for _, v in sample]), vecs[[3, 7]])
