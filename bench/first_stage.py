"""Warm first-stage latency on an existing data dir (not run by CI): what #9's BBC target measures.

    python bench/first_stage.py --data-dir /tmp/bbc ../shared/eval/news-dev/questions.jsonl [--rounds 2]

The first stage is candidates + evidence (`Engine.first_stage`), without the reranker and the answer;
the question's embedding is timed beside it, as every path pays it once. Ten questions warm up first
(model, FAISS, SQLite pages), then every question is timed `--rounds` times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from index.core.settings import Settings
from index.engine import Engine


def _summary(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    return {
        "mean_ms": round(statistics.fmean(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path, help="questions JSONL (only `question` is read)")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with args.questions.open(encoding="utf-8") as handle:
        questions = [json.loads(line)["question"] for line in handle if line.strip()]
    engine = Engine(Settings(data_dir=args.data_dir, rerank=False, _env_file=None))
    try:
        for question in questions[:10]:
            engine.ask(question)
        embed, first = [], []
        for _ in range(args.rounds):
            for question in questions:
                started = time.perf_counter()
                query = engine.queries([question])[0]
                embedded = time.perf_counter()
                engine.first_stage(query, None, engine.settings.max_stories)
                done = time.perf_counter()
                embed.append((done - started) * 1000)
                first.append((done - embedded) * 1000)
    finally:
        engine.close()
    report = {
        "questions": len(first),
        "first_stage": _summary(first),
        "embedding_and_first_stage": _summary(embed),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
