"""Fit the refusal rule (when to say "the news I have doesn't say") on the path `newsbot ask` runs.

    python bench/fit_refusal.py "DATA_DIR=QUESTIONS.jsonl" [...] [--max-refused 0.08] [--folds 5]

QUESTIONS may be a glob (quoted). The questions need answerable and unanswerable ones (`answers: []`);
the news questions written for this project (bench/data/news-train-*.jsonl, news-check-*.jsonl) have
both; the answerable ones the reranker trained on are left out (--trained-on), as their logits are
in-sample. For each
question the best quote's evidence is taken exactly as `newsbot ask` takes it, with the reranker on
(its logit is then evidence) or off (NEWSBOT_RERANK=false). A logistic regression on that evidence,
each weight held to its sign (`SIGNS`), gives the weights; the threshold refuses at most
--max-refused of the answerable questions. It reports the cross-validated refusal rates (rule fit
on the other folds), then the rule fit on all, as settings to paste into index/core/settings.py.
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from index.core.settings import Settings
from index.engine import Engine
from index.features.evaluate import contains_answer, load_questions
from index.search.answer import REFUSAL_TERMS, refusal_evidence

ROOT = Path(__file__).resolve().parent.parent
TERMS = ("rerank", "sent", "ctx_overlap", "story_overlap", "story_missing", "number_missing")
L2 = 0.01


def trained_ids(pattern: str) -> set[str]:
    """The ids of the news questions `bench/train_reranker.py` trains on when given these files (its
    `split_news` keeps every 5th article's questions back): their logits are in-sample."""
    from train_reranker import split_news  # a sibling script: bench/ is on sys.path when run as one

    news = [q for p in sorted(glob.glob(pattern)) for q in load_questions(Path(p)) if q.answers]
    return {q.id for q in split_news(news)[0] if q.id}


def collect(engine: Engine, path: str, skip: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best quote's evidence per question, whether it is answerable and whether the quote hits."""
    questions = [q for p in sorted(glob.glob(path)) for q in load_questions(Path(p)) if q.id not in skip]
    rows, answerable, hits = [], [], []
    for q, query in zip(questions, engine.queries([q.question for q in questions]), strict=True):
        ranking = engine.questions.rank(query, None, 1)
        candidates, ranked = ranking.candidates, ranking.ranked
        if not ranked:
            continue
        evidence = refusal_evidence(candidates, ranking.reranked.model, ranked[0].position)
        rows.append([evidence[t] for t in REFUSAL_TERMS])
        answerable.append(bool(q.answers))
        hits.append(contains_answer(candidates.sentences[ranked[0].position]["text"], q.answers))
    return np.asarray(rows), np.asarray(answerable), np.asarray(hits)


# The direction each term may weigh in (evidence that an answer is missing only counts against it):
# a fit free to flip a sign learns the quirks of a few dozen unanswerable questions instead.
SIGNS = {
    "rerank": 1,
    "rerank_gap": 1,
    "sent": 1,
    "ctx": 1,
    "topic": 1,
    "title": 1,
    "story_bm25": 1,
    "story_dense": 1,
    "answer_type": 1,
    "amount": 1,
    "head": 1,
    "local_overlap": 1,
    "ctx_overlap": 1,
    "story_overlap": 1,
    "story_missing": -1,
    "number_missing": -1,
}


def fit(
    X: np.ndarray, answerable: np.ndarray, max_refused: float, terms: tuple[str, ...] = TERMS
) -> tuple[np.ndarray, float]:
    """A logistic regression (balanced classes, small L2) whose weights keep each term's sign, in the
    evidence's own units, and the threshold refusing `max_refused` of the answerable questions."""
    mean, spread = X.mean(axis=0), np.maximum(X.std(axis=0), 1e-9)
    Z = (X - mean) / spread
    y = np.where(answerable, 1.0, -1.0)
    weight = np.where(answerable, 0.5 / answerable.mean(), 0.5 / (~answerable).mean()) / len(y)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        margin = y * (Z @ params[:-1] + params[-1])
        value = float(weight @ np.logaddexp(0, -margin)) + 0.5 * L2 * float(params[:-1] @ params[:-1])
        slope = -weight * y * expit(-margin)
        return value, np.append(Z.T @ slope + L2 * params[:-1], slope.sum())

    bounds = [(0, None) if SIGNS[t] > 0 else (None, 0) for t in terms] + [(None, None)]
    params = minimize(loss, np.zeros(len(terms) + 1), jac=True, bounds=bounds, method="L-BFGS-B").x
    weights = np.round(params[:-1] / spread, 4)  # as pasted into the settings
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
    parser.add_argument(
        "--trained-on",
        default=str(ROOT / "bench" / "data" / "news-train-*.jsonl"),
        help="question files the reranker trained on (a glob; '' for none): the questions it trained on "
        "are left out, so its logit is weighed as it scores questions it never saw",
    )
    parser.add_argument(
        "--terms",
        nargs="+",
        default=list(TERMS),
        choices=sorted(SIGNS),
        help="the evidence the rule weighs (cross-validation tells which earn their place)",
    )
    args = parser.parse_args()
    skip = trained_ids(args.trained_on) if args.trained_on else set()

    parts = []
    for spec in args.questions:
        data_dir, path = spec.split("=", 1)
        engine = Engine(Settings(data_dir=Path(data_dir)))
        parts.append(collect(engine, path, skip))
        terms = tuple(t for t in args.terms if engine.reranker is not None or not t.startswith("rerank"))
        engine.close()
    X, answerable, hits = (np.concatenate(p) for p in zip(*parts, strict=True))
    X = X[:, [REFUSAL_TERMS.index(t) for t in terms]]
    sizes = np.cumsum([0, *(len(p[0]) for p in parts)])
    origin = [
        (np.arange(len(X)) >= a) & (np.arange(len(X)) < b) for a, b in zip(sizes, sizes[1:], strict=False)
    ]
    unanswerable = int((~answerable).sum())
    print(f"{len(X)} questions, {unanswerable} unanswerable; top quote hits {hits[answerable].mean():.3f}")

    refused = np.zeros(len(X), bool)  # each question judged by the rule fit on the other folds
    for i in range(args.folds):
        test = np.arange(len(X)) % args.folds == i
        weights, cut = fit(X[~test], answerable[~test], args.max_refused, terms)
        refused[test] = X[test] @ weights < cut
    for name, rows in [("all", np.ones(len(X), bool)), *zip(args.questions, origin, strict=True)]:
        a, u = refused[rows & answerable].mean(), refused[rows & ~answerable].mean()
        print(f"cross-validated, {name}: refuses {a:.1%} of answerable, {u:.1%} of unanswerable")
    weights, cut = fit(X, answerable, args.max_refused, terms)
    refused_a, refused_u = rates(X, answerable, weights, cut)
    print(f"fit on all:      refuses {refused_a:.1%} of answerable, {refused_u:.1%} of unanswerable")
    print("weights:", json.dumps({t: round(float(w), 4) for t, w in zip(terms, weights, strict=True)}))
    print(f"threshold: {cut:.4f}")
    sure = X @ weights - cut
    for margin in (0.0, 0.5, 1.0, 1.5, 2.0):  # how far past the threshold a quote is "high" confidence
        above = answerable & (sure >= margin)
        share = above.sum() / answerable.sum()
        print(f"margin {margin}: {share:.0%} of answerable, {hits[above].mean():.0%} right")


if __name__ == "__main__":
    main()
