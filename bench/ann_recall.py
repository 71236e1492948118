"""Recall and cost of the approximate vector index against exact search, on real MiniLM vectors.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ann_recall.py --data /tmp/bbc --extra /tmp/reqa [--threads 2]

Not run by CI. Two vector sets, each indexed through `PassageIndex` (the engine's code path), once
exact ("flat") and once approximate ("ivf", forced on the BBC set, which is under the threshold):

- bbc: the passage vectors of an ingested BBC data dir, less 500 held out as passage-like queries;
- mixed: a million vectors (``--size``) made from the real passage vectors of both data dirs: copy i
  is real vector i mod n, plus a random share (0.2-0.8) of another random real vector, plus 0.3 times
  a random unit vector, renormalised; 500 more mixtures (not indexed) are its passage-like queries.

The other queries are real question vectors: the news-dev and news-train questions embedded with the
bundled model. Recall@k is the share of exact search's top k that the index returns; "filtered" is the
same for questions restricted to a random 10% of the pks (the `allowed` path). Latency is one
`search` call per query on `--threads` FAISS threads. Memory counts the vectors, codes, pks and
centroids the index keeps; load is a fresh `PassageIndex.load` with a warm page cache (the base is
memory-mapped); "add 10" is ten new vectors added and saved (the delta file and manifest), "merge"
folds them into a new base.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

from index.reading.ingest import stored_passage_vectors
from index.storage.embed import SentenceTransformerEmbedder
from index.storage.store import Store
from index.storage.vectors import PassageIndex, from_arrays

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    ROOT.parent / "shared/eval/news-dev/questions.jsonl",
    *sorted((ROOT / "bench/data").glob("*.jsonl")),
]
DIM = 384
TITLE_WEIGHT = 0.5  # the engine's passage_title_weight default


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("/tmp/bbc"), help="an ingested BBC data dir")
    parser.add_argument(
        "--extra", type=Path, default=Path("/tmp/reqa"), help="another data dir for the 1m set"
    )
    parser.add_argument("--size", type=int, default=1_000_000, help="vectors in the large set")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=60)
    parser.add_argument("--questions", type=Path, nargs="+", default=QUESTIONS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not the expected "no index yet" warnings
    faiss.omp_set_num_threads(args.threads)

    bbc = _passage_vectors(args.data)
    questions = SentenceTransformerEmbedder("").encode(list(_questions(args.questions)))
    rng = np.random.default_rng(0)
    held = np.zeros(len(bbc), dtype=bool)
    held[rng.choice(len(bbc), 500, replace=False)] = True
    rows = _measure("bbc", bbc[~held], questions, bbc[held], ["flat", "ivf"], args.k)
    real = np.concatenate([bbc, _passage_vectors(args.extra)])
    large = _mixtures(real, args.size, np.random.default_rng(1), cycle=True)
    mixed_queries = _mixtures(real, 500, np.random.default_rng(2))
    rows += _measure(f"mixed {args.size:,}", large, questions, mixed_queries, ["flat", "ivf"], args.k)
    _print_table(rows, args)


def _passage_vectors(data_dir: Path) -> np.ndarray:
    store = Store(data_dir / "newsbot.db")
    try:
        return stored_passage_vectors(store, DIM, TITLE_WEIGHT)[1]
    finally:
        store.close()


def _questions(paths: list[Path]) -> Iterable[str]:
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)["question"]


def _mixtures(real: np.ndarray, n: int, rng: np.random.Generator, cycle: bool = False) -> np.ndarray:
    """Real vectors, each mixed with a share of another real vector and a little noise, renormalised."""
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        first = np.arange(start, start + m) % len(real) if cycle else rng.integers(len(real), size=m)
        noise = rng.standard_normal((m, real.shape[1])).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        share = rng.uniform(0.2, 0.8, size=(m, 1)).astype(np.float32)
        mixed = real[first] + share * real[rng.integers(len(real), size=m)] + 0.3 * noise
        out[start : start + m] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def _measure(
    name: str, vectors: np.ndarray, questions: np.ndarray, passages: np.ndarray, kinds: list[str], k: int
) -> list[dict[str, object]]:
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    queries = np.concatenate([questions, passages])
    rng = np.random.default_rng(3)
    subset = np.sort(rng.choice(len(ids), len(ids) // 10, replace=False))
    exact = ids[faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)[1]]
    exact_filtered = ids[subset][
        faiss.knn(questions, vectors[subset], k, metric=faiss.METRIC_INNER_PRODUCT)[1]
    ]
    rows = []
    for kind in kinds:
        with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
            path = Path(tmp) / "passages.faiss"
            index = PassageIndex(path, "bench", DIM, kind=kind)
            started = time.perf_counter()
            index.load(len(ids), rebuild=from_arrays(ids, vectors), generation=1)
            build = time.perf_counter() - started
            latencies, found = [], []
            for query in queries:
                started = time.perf_counter()
                found.append([pk for pk, _ in index.search(query, k)])
                latencies.append(time.perf_counter() - started)
            filtered = [[pk for pk, _ in index.search(q, k, allowed=ids[subset])] for q in questions]
            info = index.info
            disk = sum(p.stat().st_size for p in Path(tmp).iterdir())
            del index
            started = time.perf_counter()
            index = PassageIndex(path, "bench", DIM, kind=kind)
            index.load(len(ids), rebuild=_no_rebuild, generation=1)
            load = time.perf_counter() - started
            started = time.perf_counter()
            index.add(np.arange(-10, 0, dtype=np.int64), passages[:10])
            index.save(generation=2)
            add = time.perf_counter() - started
            started = time.perf_counter()
            index.merge()
            merge = time.perf_counter() - started
            del index
        rows.append(
            {
                "set": name,
                "index": kind if kind == "flat" else f"ivf {info['nlist']}/{info['nprobe']}",
                "vectors": len(ids),
                "build s": build,
                "recall q": _recall(found[: len(questions)], exact[: len(questions)]),
                "recall p": _recall(found[len(questions) :], exact[len(questions) :]),
                "recall filt": _recall(filtered, exact_filtered),
                "mean ms": 1000 * float(np.mean(latencies)),
                "p95 ms": 1000 * float(np.percentile(latencies, 95)),
                "memory MB": info["vector_bytes"] / 1e6,
                "disk MB": disk / 1e6,
                "load ms": 1000 * load,
                "add 10 ms": 1000 * add,
                "merge s": merge,
            }
        )
    return rows


def _no_rebuild(every: int) -> list[tuple[np.ndarray, np.ndarray]]:
    raise RuntimeError("the index just saved should load without a rebuild")


def _recall(found: list[list[int]], exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e.tolist())) / len(e) for f, e in zip(found, exact, strict=True)]))


def _print_table(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    print(f"recall@{args.k} vs exact search; {args.threads} FAISS threads; q = question queries,")
    print("p = held-out passage (bbc) / mixture (mixed) queries, filt = questions within a random 10% of pks")
    columns = list(rows[0])
    cells = [[_cell(c, row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))


def _cell(column: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if column.startswith("recall") else f"{value:.1f}"
    return str(value)


if __name__ == "__main__":
    main()
