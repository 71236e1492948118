"""Warm first-stage latency on an existing data dir (not run by CI): what #9's BBC target measures.

    python bench/first_stage.py --data-dir /tmp/bbc ../shared/eval/news-dev/questions.jsonl [--rounds 2]
                                [--recall]

The first stage is candidates + evidence (`Engine.first_stage`), without the reranker and the answer;
the question's embedding is timed beside it, as every path pays it once. Ten questions warm up first
(model, FAISS, SQLite pages), then every question is timed `--rounds` times.

--recall adds what the first stage can hand the reranker: the share of answerable questions with an
answering sentence among its best 10 and 30 quotable sentences (the reranker reads 30) and among all
its candidates. The settings come from the environment, so `NEWSBOT_MAX_STORIES=10` measures another
depth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from index.core.settings import Settings
from index.engine import Engine
from index.features.evaluate import contains_answer, load_questions
from index.search.candidates import Candidates

DEPTHS = (10, 30)


def _summary(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    return {
        "mean_ms": round(statistics.fmean(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def holds(candidates: Candidates, first: np.ndarray, answers: list[str]) -> list[bool]:
    """Whether an answering sentence is among the best `DEPTHS` quotable sentences, then among all."""
    right = [
        contains_answer(candidates.sentences[p]["text"], answers) for p in candidates.best_quotable(first)
    ]
    return [any(right[:depth]) for depth in DEPTHS] + [any(right)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path, nargs="+", help="questions JSONL files")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--recall", action="store_true", help="report the first stage's recall too")
    args = parser.parse_args()

    asked = [q for path in args.questions for q in load_questions(path)]
    questions = [q.question for q in asked]
    found: list[list[bool]] = []
    engine = Engine(Settings(data_dir=args.data_dir, rerank=False, _env_file=None))
    try:
        for question in questions[:10]:
            engine.ask(question)
        embed, first = [], []
        for round_ in range(args.rounds):
            for q in asked:
                started = time.perf_counter()
                query = engine.queries([q.question])[0]
                embedded = time.perf_counter()
                candidates, scores = engine.first_stage(query, None, engine.settings.max_stories)
                done = time.perf_counter()
                embed.append((done - started) * 1000)
                first.append((done - embedded) * 1000)
                if args.recall and round_ == 0 and q.answers:
                    found.append(holds(candidates, scores, q.answers))
    finally:
        engine.close()
    report = {
        "questions": len(first),
        "first_stage": _summary(first),
        "embedding_and_first_stage": _summary(embed),
    }
    if args.recall:
        shares = np.mean(found, axis=0) if found else np.zeros(len(DEPTHS) + 1)
        names = [f"@{depth}" for depth in DEPTHS] + ["all"]
        recall = dict(zip(names, np.round(shares, 3).tolist(), strict=True))
        report["recall"] = {"answerable": len(found), **recall}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
