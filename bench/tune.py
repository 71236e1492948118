"""Fit the answer-scoring weights and the refusal threshold on dev questions (not run by CI).

    python bench/tune.py DATA_DIR=QUESTIONS.jsonl[@N] [DATA_DIR=QUESTIONS.jsonl[@N] ...] [--folds 2]

For every question it takes the candidates exactly as `newsbot ask` does, labels each sentence by the
eval rule (contains an expected answer), then searches feature weights that maximise hit@1 (MRR as
tie-break) by coordinate ascent. It reports cross-validated numbers (fit on some folds, scored on
the held-out one) next to the in-sample fit, and the refusal threshold that keeps answerable refusals
at or under --max-refused while refusing as many unanswerable questions as it can.
"""

from __future__ import annotations

import argparse
import json
import pickle
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
    retriever = engine.retriever
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
        top = np.argpartition(-s, min(10, len(s) - 1))[:10]
        order = top[np.argsort(-s[top], kind="stable")]
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


def refusal(rows: list[dict], w: np.ndarray, max_refused: float) -> tuple[np.ndarray, float, float, float]:
    """Weights over the top answer's features, and a threshold, that refuse the most unanswerable
    questions while refusing at most `max_refused` of the answerable ones."""
    tops = np.stack([r["X"][int(np.argmax(r["X"] @ w))] for r in rows if len(r["X"])])
    answerable = np.asarray([r["answerable"] for r in rows if len(r["X"])])
    best = (-1.0, 0.0, np.zeros(len(FEATURES)), 0.0)
    grid = [0.0, 0.5, 1.0, 2.0]
    for ctx in grid:
        for story in grid:
            for missing in [0.0, 0.05, 0.1, 0.2]:
                rw = np.zeros(len(FEATURES))
                rw[FEATURES.index("sent")] = 1.0
                rw[FEATURES.index("ctx_overlap")] = ctx
                rw[FEATURES.index("story_overlap")] = story
                rw[FEATURES.index("story_missing")] = -missing
                scores = tops @ rw
                cut = np.sort(scores[answerable])[int(max_refused * answerable.sum())]
                refused_u = float((scores[~answerable] < cut).mean())
                refused_a = float((scores[answerable] < cut).mean())
                if (refused_u, -refused_a) > best[:2]:
                    best = (refused_u, -refused_a, rw, float(cut))
    refused_u, refused_a, rw, cut = best
    return rw, cut, -refused_a, refused_u


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "questions", nargs="+", help="DATA_DIR=QUESTIONS.jsonl[@N]: questions over that index (every Nth)"
    )
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--max-refused", type=float, default=0.08)
    parser.add_argument(
        "--from-scratch", action="store_true", help="start the fit from dense similarity alone"
    )
    parser.add_argument("--cache", type=Path, help="keep the collected features here, to refit quickly")
    args = parser.parse_args()

    sets, names = [], []
    start = None
    cache = args.cache and args.cache.exists() and pickle.loads(args.cache.read_bytes())
    for spec in args.questions:
        data_dir, path = spec.split("=", 1)
        path, _, every = path.partition("@")
        engine = Engine(Settings(data_dir=Path(data_dir)))
        sets.append(cache[spec] if cache else collect(engine, Path(path), int(every or 1)))
        names.append(Path(path).parent.name)
        start = np.asarray([engine.settings.weights.get(f, 0.0) for f in FEATURES])
        if args.from_scratch:  # dense sentence similarity alone: cross-validation then starts unbiased
            start = np.asarray([1.0 if f == "sent" else 0.0 for f in FEATURES])
        engine.close()
    if args.cache and not cache:
        args.cache.write_bytes(pickle.dumps(dict(zip(args.questions, sets, strict=True))))
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
            held = []
            for i in range(args.folds):
                train = [r for j, r in enumerate(rows) if j % args.folds != i]
                test = [r for j, r in enumerate(rows) if j % args.folds == i]
                rw, cut, _, _ = refusal(train, w, args.max_refused)
                tops = [
                    (r["X"][int(np.argmax(r["X"] @ w))] @ rw, r["answerable"]) for r in test if len(r["X"])
                ]
                held.append(
                    (np.mean([s < cut for s, a in tops if a]), np.mean([s < cut for s, a in tops if not a]))
                )
            print(
                f"{name} refusal cross-validated: refuses %.1f%% answerable, %.1f%% unanswerable"
                % tuple(100 * np.mean(held, axis=0))
            )
            rw, cut, refused_a, refused_u = refusal(rows, w, args.max_refused)
            print(
                f"{name} refusal in-sample: refuses {refused_a:.1%} answerable, {refused_u:.1%} unanswerable"
            )
            print(
                "refusal_weights:",
                json.dumps({f: round(float(v), 3) for f, v in zip(FEATURES, rw, strict=True) if v}),
            )
            print(f"min_answer_score: {cut:.4f}")


if __name__ == "__main__":
    main()
