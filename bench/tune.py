"""Fit the first stage's answer-scoring weights on dev questions (not run by CI; the refusal rule is
fit on the whole path by bench/fit_refusal.py).

    python bench/tune.py DATA_DIR=QUESTIONS.jsonl[@N] [DATA_DIR=QUESTIONS.jsonl[@N] ...] [--folds 5] \
        [--held-out ARTICLES.jsonl]

QUESTIONS may be a glob ("bench/data/news-train-*.jsonl", quoted). With --held-out, questions about
the articles at odd 0-based lines of that file (reqa-squad's measuring half) are never read.

For every question it takes the first-stage candidates exactly as `newsbot ask` does and labels each
quotable sentence by the eval rule (contains an expected answer). The weights minimise a listwise
softmax loss (the probability the scores give to the answer sentences among all candidates, each
question set weighing the same) with a small L2 penalty: a smooth, nearly convex fit that uses every
candidate, where a search that maximises hit@1 directly overfits a few dozen questions. It reports
cross-validated numbers (fit on the other folds, scored on the held-out one) next to the in-sample
fit.
"""

from __future__ import annotations

import argparse
import glob
import json
import pickle
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from index.core.settings import Settings
from index.engine import Engine
from index.features.evaluate import Question, contains_answer, load_questions, without_held_out
from index.search.evidence import FEATURES

SHARPNESS = 10.0  # scores are multiplied by this inside the softmax: the L2 penalty then sets the scale
# Evidence for refusing, not for ranking: as a ranking feature it lowered cross-validated news-dev hit@1.
REFUSAL_ONLY = ("number_missing",)


def collect(engine: Engine, questions: list[Question]) -> list[dict]:
    """Per question: the feature matrix of its quotable candidates, labels and whether it is answerable."""
    rows = []
    for q, query in zip(questions, engine.queries([q.question for q in questions]), strict=True):
        cands, _ = engine.first_stage(query, None, engine.settings.max_stories)
        keep = cands.quotable
        labels = np.asarray([contains_answer(s["text"], q.answers) for s in cands.sentences], dtype=bool)
        rows.append({"X": cands.features[keep], "y": labels[keep], "answerable": bool(q.answers)})
    return rows


def score(rows: list[dict], w: np.ndarray) -> tuple[float, float, float]:
    """hit@1, hit@3 and MRR@10 over the answerable questions."""
    hits = np.zeros(3)
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
            hits += [ranks[0] == 0, ranks[0] < 3, 1 / (ranks[0] + 1)]
    return tuple(hits / max(n, 1))


def _loss(w: np.ndarray, sets: list[list[tuple[np.ndarray, np.ndarray]]], l2: float):
    """Mean over sets of the mean -log P(an answer sentence) under softmax(SHARPNESS * X @ w)."""
    loss = l2 * float(w @ w)
    grad = 2 * l2 * w
    for rows in sets:
        for X, y in rows:
            s = SHARPNESS * (X @ w)
            e = np.exp(s - s.max())
            p_all, p_pos = e / e.sum(), e[y] / e[y].sum()
            loss -= (np.log(e[y].sum()) - np.log(e.sum())) / len(rows)
            grad -= SHARPNESS * (p_pos @ X[y] - p_all @ X) / len(rows)
    return loss, grad


def fit(sets: list[list[dict]], l2: float, without: tuple[str, ...] = ()) -> np.ndarray:
    """Weights fit on the questions whose candidates hold at least one answer sentence; the features
    in `without` (and the refusal-only ones) keep weight 0."""
    ranking = np.asarray([f not in REFUSAL_ONLY + without for f in FEATURES])
    usable = [[(r["X"].astype(np.float64) * ranking, r["y"]) for r in rows if r["y"].any()] for rows in sets]
    start = np.asarray([1.0 if f == "sent" else 0.0 for f in FEATURES])
    return minimize(_loss, start, args=([u for u in usable if u], l2), jac=True, method="L-BFGS-B").x


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "questions", nargs="+", help="DATA_DIR=QUESTIONS.jsonl[@N]: questions over that index (every Nth)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=0.01, help="penalty on the squared weights")
    parser.add_argument("--cache", type=Path, help="keep the collected features here, to refit quickly")
    parser.add_argument(
        "--held-out", type=Path, help="articles file whose odd-line articles' questions are never read"
    )
    parser.add_argument(
        "--without", nargs="+", default=[], choices=FEATURES, help="fit with these features at weight 0"
    )
    args = parser.parse_args()

    sets, names = [], []
    cache = args.cache and args.cache.exists() and pickle.loads(args.cache.read_bytes())
    for spec in args.questions:
        data_dir, path = spec.split("=", 1)
        path, _, every = path.partition("@")
        if cache:
            sets.append(cache[spec])
        else:
            questions = [q for p in sorted(glob.glob(path)) for q in load_questions(Path(p))]
            if args.held_out:
                questions = without_held_out(questions, args.held_out)
            engine = Engine(Settings(data_dir=Path(data_dir), rerank=False))
            sets.append(collect(engine, questions[:: int(every or 1)]))
            engine.close()
        names.append(Path(path).stem if "*" in path else Path(path).parent.name)
    if args.cache and not cache:
        args.cache.write_bytes(pickle.dumps(dict(zip(args.questions, sets, strict=True))))
    current = np.asarray([Settings().weights.get(f, 0.0) for f in FEATURES])
    line = "{:12} {:16} hit@1 %.4f  hit@3 %.4f  mrr@10 %.4f"
    for name, rows in zip(names, sets, strict=True):
        print(line.format(name, f"current (n={len(rows)}):") % score(rows, current))

    without = tuple(args.without)
    held_out = {name: [] for name in names}
    for i in range(args.folds):
        w = fit([[r for j, r in enumerate(rows) if j % args.folds != i] for rows in sets], args.l2, without)
        for name, rows in zip(names, sets, strict=True):
            held_out[name].append(score([r for j, r in enumerate(rows) if j % args.folds == i], w))
    for name in names:
        print(line.format(name, "cross-validated:") % tuple(np.mean(held_out[name], axis=0)))

    w = fit(sets, args.l2, without)
    for name, rows in zip(names, sets, strict=True):
        print(line.format(name, "in-sample fit:") % score(rows, w))
    print("weights:", json.dumps(dict(zip(FEATURES, w.round(3).tolist(), strict=True))))


if __name__ == "__main__":
    main()
