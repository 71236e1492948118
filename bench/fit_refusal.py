"""Fit the refusal rule (when to say "the news I have doesn't say") on the path `newsbot ask` runs.

    python bench/fit_refusal.py "DATA_DIR=QUESTIONS.jsonl" [...] [--report DATA_DIR=QUESTIONS ...]
                                [--max-refused 0.08] [--folds 5]

The shipped rule is fit with (re-run it after shipping a new reranker, and paste what it prints into
index/core/settings.py and .env.example):

    python bench/fit_refusal.py "/tmp/bbc=../shared/eval/news-dev/questions.jsonl" \
        "/tmp/bbc=bench/data/news-check-*.jsonl" "/tmp/bbc=bench/data/news-train[234567]-*.jsonl" \
        --trained-on "bench/data/news-train[-234]*.jsonl" "bench/data/news-train*-*.jsonl" \
        --report "SAMPLE_DIR=bench/data/sample-questions.jsonl" \
        "/tmp/bbc=bench/data/news-unseen-heldout.jsonl"

(/tmp/bbc: every BBC article and the bundled sample ingested; SAMPLE_DIR: examples/news alone.
news-train itself is left out: the shipped reranker's base trained on another split of it. The shipped
reranker trained on news-train to news-train7, which the second glob leaves out; the first leaves out
what the reranker before it trained on (news-train to news-train4, split otherwise), so both are fit
and judged on the same questions.)

QUESTIONS may be a glob (quoted). The questions need answerable and unanswerable ones (`answers: []`);
the news questions written for this project (bench/data/news-train-*.jsonl, news-check-*.jsonl) have
both; the answerable ones the reranker trained on are left out (--trained-on), as their logits are
in-sample. For each question the best quote's evidence is taken exactly as `newsbot ask` takes it
(`QuestionPath.refusal_evidence`), with the reranker on (its logit is then evidence) or off
(NEWSBOT_RERANK=false). A logistic regression on that evidence, each weight held to its sign
(`SIGNS`), gives the weights; the threshold refuses at most --max-refused of the answerable questions.
It reports the refusal rates cross-validated by article (--folds folds; a rule fit on the other
articles' questions judges each), then the rule fit on all, as settings to paste, and how that rule
does on each --report set (questions never fit on: another corpus size, e.g. one article), counting
the answerable questions whose first quote is right that it refuses.
"""

from __future__ import annotations

import argparse
import glob
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from index.core.settings import Settings
from index.engine import Engine
from index.features.evaluate import contains_answer, load_questions
from index.search.answer import REFUSAL_TERMS

ROOT = Path(__file__).resolve().parent.parent
TERMS = (
    "rerank",
    "rerank_gap",
    "sent",
    "ctx_share",
    "story_share",
    "first_rank",
    "number_missing",
    "withheld",
)
L2 = 0.01


def trained_ids(pattern: str) -> set[str]:
    """The ids of the news questions `bench/train_reranker.py` trains on when given these files (its
    `split_news` keeps every 5th article's questions back; `split_unanswerable` the half of the
    unanswerable ones that --unanswerable may train on): their logits are in-sample. The unanswerable
    half is left out whether or not the reranker trained on it, so rules for rerankers trained either
    way are fit and judged on the same questions."""
    from train_reranker import split_news, split_unanswerable  # a sibling script: bench/ is on sys.path

    questions = [q for p in sorted(glob.glob(pattern)) for q in load_questions(Path(p))]
    news = [q for q in questions if q.answers]
    unanswerable = [q for q in questions if not q.answers]
    return {q.id for q in [*split_news(news)[0], *split_unanswerable(unanswerable)[0]] if q.id}


@dataclass
class Collected:
    """Per question: the best quote's evidence (one row per question, `REFUSAL_TERMS` columns),
    whether it is answerable, whether its first quote is right, and its article (its fold)."""

    X: np.ndarray
    answerable: np.ndarray
    hits: np.ndarray
    articles: list[str]


def collect(engine: Engine, path: str, skip: set[str]) -> Collected:
    """The evidence the refusal rule weighs for each question of `path` (a glob), as `newsbot ask`
    weighs it."""
    questions = [q for p in sorted(glob.glob(path)) for q in load_questions(Path(p)) if q.id not in skip]
    rows, answerable, hits, articles = [], [], [], []
    for q, query in zip(questions, engine.queries([q.question for q in questions]), strict=True):
        ranking = engine.questions.rank(query, None, 1)
        evidence = engine.questions.refusal_evidence(query, ranking)
        if evidence is None:
            continue
        rows.append([evidence[t] for t in REFUSAL_TERMS])
        answerable.append(bool(q.answers))
        hits.append(
            contains_answer(ranking.candidates.sentences[ranking.ranked[0].position]["text"], q.answers)
        )
        articles.append(q.article or q.id or q.question)  # an unanswerable question is a fold's alone
    return Collected(np.asarray(rows), np.asarray(answerable), np.asarray(hits), articles)


def folds_by_article(articles: list[str], folds: int) -> np.ndarray:
    """Each question's fold, by its article: questions about one article never sit on both sides."""
    return np.asarray([zlib.crc32(a.encode()) % folds for a in articles])


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
    "withheld": -1,
    "ctx_share": 1,
    "story_share": 1,
    "first_rank": 1,
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
    parser.add_argument(
        "--report",
        nargs="*",
        default=[],
        help="DATA_DIR=QUESTIONS.jsonl sets the rule is only judged on (another corpus size)",
    )
    parser.add_argument("--max-refused", type=float, default=0.08)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--trained-on",
        nargs="*",
        default=[str(ROOT / "bench" / "data" / "news-train-*.jsonl")],
        help="question files the reranker trained on (a glob; the flag alone for none): the questions it "
        "trained on are left out, so its logit is weighed as it scores questions it never saw; several "
        "globs, one per training run's files, leave out what any of those runs trained on (to judge two "
        "rerankers on the same questions)",
    )
    parser.add_argument(
        "--terms",
        nargs="+",
        default=list(TERMS),
        choices=sorted(SIGNS),
        help="the evidence the rule weighs (cross-validation tells which earn their place)",
    )
    args = parser.parse_args()
    skip = set().union(*(trained_ids(pattern) for pattern in args.trained_on))

    terms = tuple(args.terms)
    sets: dict[str, Collected] = {}
    for spec in [*args.questions, *args.report]:
        data_dir, path = spec.split("=", 1)
        engine = Engine(Settings(data_dir=Path(data_dir)))
        sets[spec] = collect(engine, path, skip)
        if engine.reranker is None:
            terms = tuple(t for t in terms if not t.startswith("rerank"))
        engine.close()
    columns = [REFUSAL_TERMS.index(t) for t in terms]
    fitted = [sets[s] for s in args.questions]
    X = np.concatenate([c.X for c in fitted])[:, columns]
    answerable = np.concatenate([c.answerable for c in fitted])
    hits = np.concatenate([c.hits for c in fitted])
    origin = np.concatenate([np.full(len(c.X), i) for i, c in enumerate(fitted)])
    unanswerable = int((~answerable).sum())
    print(f"{len(X)} questions, {unanswerable} unanswerable; top quote hits {hits[answerable].mean():.3f}")

    fold = folds_by_article([a for c in fitted for a in c.articles], args.folds)
    refused = np.zeros(len(X), bool)  # each question judged by the rule fit on the other articles
    for i in range(args.folds):
        test = fold == i
        weights, cut = fit(X[~test], answerable[~test], args.max_refused, terms)
        refused[test] = X[test] @ weights < cut
    for name, rows in [
        ("all", np.ones(len(X), bool)),
        *((s, origin == i) for i, s in enumerate(args.questions)),
    ]:
        a, u = refused[rows & answerable].mean(), refused[rows & ~answerable].mean()
        print(f"cross-validated, {name}: refuses {a:.1%} of answerable, {u:.1%} of unanswerable")
    weights, cut = fit(X, answerable, args.max_refused, terms)
    refused_a, refused_u = rates(X, answerable, weights, cut)
    print(f"fit on all:      refuses {refused_a:.1%} of answerable, {refused_u:.1%} of unanswerable")
    for spec in args.report:
        c = sets[spec]
        judged = c.X[:, columns] @ weights < cut
        right = c.answerable & c.hits
        print(
            f"judged, {spec}: refuses {judged[c.answerable].mean():.1%} of answerable "
            f"({int(judged[right].sum())} of {int(right.sum())} whose first quote is right), "
            f"{judged[~c.answerable].mean():.1%} of unanswerable ({int((~c.answerable).sum())})"
        )
    print("weights:", json.dumps({t: round(float(w), 4) for t, w in zip(terms, weights, strict=True)}))
    print(f"threshold: {cut:.4f}")
    sure = X @ weights - cut
    for margin in (0.0, 0.5, 1.0, 1.5, 2.0):  # how far past the threshold a quote is "high" confidence
        above = answerable & (sure >= margin)
        share = above.sum() / answerable.sum()
        print(f"margin {margin}: {share:.0%} of answerable, {hits[above].mean():.0%} right")


if __name__ == "__main__":
    main()
