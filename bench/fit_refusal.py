"""Fit the refusal rule (when to say "the news I have doesn't say") on the path `newsbot ask` runs.

    python bench/fit_refusal.py "DATA_DIR=QUESTIONS.jsonl" [...] [--max-refused 0.08] [--folds 5]

QUESTIONS may be a glob (quoted). The questions need answerable and unanswerable ones (`answers: []`);
the news questions written for this project (bench/data/news-train-*.jsonl) have both. For each
question the best quote's evidence is taken exactly as `newsbot ask` takes it, with the reranker on
(its logit is then evidence) or off (NEWSBOT_RERANK=false). A logistic regression on that evidence
gives the weights; the threshold refuses at most --max-refused of the answerable questions. It
reports the cross-validated refusal rates (rule fit on the other folds), then the rule fit on all,
as settings to paste into index/settings.py.
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from index.answer import refusal_evidence
from index.engine import Engine
from index.evaluate import contains_answer, load_questions
from index.settings import Settings

TERMS = ("rerank", "sent", "ctx_overlap", "story_overlap", "story_missing", "number_missing")


def collect(engine: Engine, path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best quote's evidence per question, whether it is answerable and whether the quote hits."""
    questions = [q for p in sorted(glob.glob(path)) for q in load_questions(Path(p))]
    rows, answerable, hits = [], [], []
    for q, query in zip(questions, engine.queries([q.question for q in questions]), strict=True):
        candidates, reranked, ranked = engine.rank(query, None, 1)
        if not ranked:
            continue
        evidence = refusal_evidence(candidates, reranked.model, ranked[0].position)
        rows.append([evidence[t] for t in TERMS])
        answerable.append(bool(q.answers))
        hits.append(contains_answer(candidates.sentences[ranked[0].position]["text"], q.answers))
    return np.asarray(rows), np.asarray(answerable), np.asarray(hits)


def fit(X: np.ndarray, answerable: np.ndarray, max_refused: float) -> tuple[np.ndarray, float]:
    """Weights in the evidence's own units, and the threshold refusing `max_refused` of the answerable."""
    mean, spread = X.mean(axis=0), np.maximum(X.std(axis=0), 1e-9)
    model = LogisticRegression(C=1.0, class_weight="balanced").fit((X - mean) / spread, answerable)
    weights = np.round(model.coef_[0] / spread, 4)  # as pasted into the settings
    scores = X @ weights
    return weights, float(np.quantile(scores[answerable], max_refused))


def rates(X: np.ndarray, answerable: np.ndarray, weights: np.ndarray, cut: float) -> tuple[float, float]:
    refused = X @ weights < cut
    return float(refused[answerable].mean()), float(refused[~answerable].mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", nargs="+", help="DATA_DIR=QUESTIONS.jsonl (a glob, quoted)")
    parser.add_argument("--max-refused", type=float, default=0.08)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    parts = []
    for spec in args.questions:
        data_dir, path = spec.split("=", 1)
        engine = Engine(Settings(data_dir=Path(data_dir)))
        parts.append(collect(engine, path))
        terms = TERMS if engine.reranker is not None else TERMS[1:]
        engine.close()
    X, answerable, hits = (np.concatenate(p) for p in zip(*parts, strict=True))
    X = X[:, [TERMS.index(t) for t in terms]]
    unanswerable = int((~answerable).sum())
    print(f"{len(X)} questions, {unanswerable} unanswerable; top quote hits {hits[answerable].mean():.3f}")

    held = []
    for i in range(args.folds):
        test = np.arange(len(X)) % args.folds == i
        weights, cut = fit(X[~test], answerable[~test], args.max_refused)
        held.append(rates(X[test], answerable[test], weights, cut))
    refused_a, refused_u = np.mean(held, axis=0)
    print(f"cross-validated: refuses {refused_a:.1%} of answerable, {refused_u:.1%} of unanswerable")
    weights, cut = fit(X, answerable, args.max_refused)
    refused_a, refused_u = rates(X, answerable, weights, cut)
    print(f"fit on all:      refuses {refused_a:.1%} of answerable, {refused_u:.1%} of unanswerable")
    print("weights:", json.dumps({t: round(float(w), 4) for t, w in zip(terms, weights, strict=True)}))
    print(f"threshold: {cut:.4f}")


if __name__ == "__main__":
    main()
