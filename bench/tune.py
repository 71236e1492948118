"""Fit the answer-scoring weights and the refusal threshold on dev questions (not run by CI).

    python bench/tune.py DATA_DIR=QUESTIONS.jsonl [DATA_DIR=QUESTIONS.jsonl ...] [--every N] [--folds 2]

For every question it takes the candidates exactly as `newsbot ask` does, labels each sentence by the
eval rule (contains an expected answer), then searches feature weights that maximise hit@1 (MRR as
tie-break) by coordinate ascent. It reports cross-validated numbers (fit on some folds, scored on
the held-out one) next to the in-sample fit, and the refusal threshold that keeps answerable refusals
at or under --max-refused while refusing as many unanswerable questions as it can.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from index.engine import Engine
from index.evaluate import contains_answer, load_questions
from index.retrieve import FEATURES
from index.settings import Settings
from index.store import Filters


def collect(engine: Engine, path: Path, every: int = 1) -> list[dict]:
    """Per question: its feature matrix, labels and whether it is answerable."""
    questions = load_questions(path)[::every]
    vectors = engine.embedder.encode([q.question for q in questions])
    retriever = engine._retriever()
    rows = []
    for q, vec in zip(questions, vectors, strict=True):
        cands = retriever.candidates(q.question, vec, Filters(), engine.settings.max_stories)
        labels = np.asarray([contains_answer(s["text"], q.answers) for s in cands.sentences], dtype=bool)
        rows.append({"X": cands.features, "y": labels, "answerable": bool(q.answers)})
    return rows


def score_sets(sets: list[list[dict]], w: np.ndarray) -> tuple[float, float]:
    """The mean over question sets, so a small set weighs as much as a large one."""
    return tuple(np.mean([score(rows, w) for rows in sets], axis=0))


def score(rows: list[dict], w: np.ndarray) -> tuple[float, float]:
    hit = mrr = 0.0
    n = 0
    for r in rows:
        if not r["answerable"]:
            continue
        n += 1
        if not len(r["X"]):
            continue
        s = r["X"] @ w
        order = np.argsort(-s, kind="stable")[:10]
        ranks = np.nonzero(r["y"][order])[0]
        if len(ranks):
            hit += ranks[0] == 0
            mrr += 1 / (ranks[0] + 1)
    return hit / max(n, 1), mrr / max(n, 1)


def fit(sets: list[list[dict]], start: np.ndarray, rounds: int = 4) -> np.ndarray:
    w = start.copy()
    best = score_sets(sets, w)
    grid = [-1.0, -0.5, -0.2, -0.1, 0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0]
    for _ in range(rounds):
        improved = False
        for i in range(1, len(w)):  # feature 0 ("sent") stays at 1: the scale is free
            for value in grid:
                trial = w.copy()
                trial[i] = value
                result = score_sets(sets, trial)
                if result > best:
                    best, w, improved = result, trial, True
        if not improved:
            break
    return w


def threshold(rows: list[dict], w: np.ndarray, max_refused: float) -> tuple[float, float, float]:
    """The refusal threshold: refuse answerable questions at most `max_refused` of the time."""
    top = [(float((r["X"] @ w).max()) if len(r["X"]) else -9.0, r["answerable"]) for r in rows]
    answerable = sorted(s for s, a in top if a)
    unanswerable = [s for s, a in top if not a]
    cut = answerable[int(max_refused * len(answerable))] if answerable else 0.0
    refused_u = sum(s < cut for s in unanswerable) / max(len(unanswerable), 1)
    refused_a = sum(s < cut for s in answerable) / max(len(answerable), 1)
    return cut, refused_a, refused_u


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path, nargs="+", help="question files, each DATA_DIR=FILE")
    parser.add_argument("--every", type=int, default=1, help="take every Nth question of each file")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--max-refused", type=float, default=0.08)
    args = parser.parse_args()

    sets, names = [], []
    start = None
    for spec in args.questions:
        data_dir, path = str(spec).split("=", 1)
        engine = Engine(Settings(data_dir=Path(data_dir)))
        sets.append(collect(engine, Path(path), args.every))
        names.append(Path(path).parent.name)
        start = np.asarray([engine.settings.weights.get(f, 0.0) for f in FEATURES])
        engine.close()
    print("current weights:", dict(zip(FEATURES, start.round(3).tolist(), strict=True)))
    for name, rows in zip(names, sets, strict=True):
        print(f"{name:12} n={len(rows):<6} current: hit@1 %.4f  mrr@10 %.4f" % score(rows, start))

    held_out = {name: [] for name in names}
    for i in range(args.folds):
        train = [[r for j, r in enumerate(rows) if j % args.folds != i] for rows in sets]
        w = fit(train, start)
        for name, rows in zip(names, sets, strict=True):
            held_out[name].append(score([r for j, r in enumerate(rows) if j % args.folds == i], w))
    for name in names:
        print(f"{name:12} cross-validated: hit@1 %.4f  mrr@10 %.4f" % tuple(np.mean(held_out[name], axis=0)))

    w = fit(sets, start)
    for name, rows in zip(names, sets, strict=True):
        print(f"{name:12} in-sample fit:   hit@1 %.4f  mrr@10 %.4f" % score(rows, w))
    print("weights:", json.dumps(dict(zip(FEATURES, w.round(3).tolist(), strict=True))))
    for name, rows in zip(names, sets, strict=True):
        if any(not r["answerable"] for r in rows):
            cut, refused_a, refused_u = threshold(rows, w, args.max_refused)
            print(f"{name}: min_answer_score {cut:.4f} refuses {refused_a:.1%} answerable, "
                  f"{refused_u:.1%} unanswerable")


if __name__ == "__main__":
    main()
