"""What reading more candidates costs the reranker, and what each way of making it cheaper keeps.

    python bench/rerank_speed.py --data-dir /tmp/bbc ../shared/eval/news-dev/questions.jsonl [--reranker DIR]

Each question's first-stage pool (its best 30 quotable sentences, as `newsbot ask` finds them) is
collected once; then every way of scoring (float32 with one padded batch, float32 in batches of
similar length, dynamic int8 per tensor and per channel) reads the best 10, 20 and 30 of each pool.
Reported per way and depth: milliseconds per question (mean, p95), hit@1 of the served mix (the
model's z-score plus the folder's first-stage weight), and how often the top pick differs from float32
read in one batch at the same depth. Run it on a quiet machine: it is a timing.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
import warnings
from contextlib import closing
from pathlib import Path

import numpy as np
import torch
from train_reranker import _first_stage_engine, collect  # sibling script: bench/ is on sys.path

from index.features.evaluate import load_questions
from index.search.rerank import SHIPPED, CrossEncoderReranker, mix

DEPTHS = (10, 20, 30)


def quantized(model: torch.nn.Module, per_channel: bool) -> torch.nn.Module:
    """The model with its linear layers in dynamic int8 (weights per tensor or per output channel)."""
    spec = (
        {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
        if per_channel
        else {torch.nn.Linear}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), spec, dtype=torch.qint8)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--reranker", type=Path, default=SHIPPED)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    questions = [q for q in load_questions(args.questions) if q.answers]
    with closing(_first_stage_engine(args.data_dir)) as engine:
        pools = collect(engine, questions, "news")
    reranker = CrossEncoderReranker(args.reranker)
    reranker.batch = 0
    fp32 = reranker.model
    ways = {
        "float32, one batch": (fp32, 0),
        "float32, batches of 8 by length": (fp32, 8),
        "float32, batches of 16 by length": (fp32, 16),
        "int8 per tensor, batches of 8": (quantized(fp32, False), 8),
        "int8 per channel, batches of 8": (quantized(fp32, True), 8),
    }
    for pool in pools[:5]:  # warm up
        reranker.score(pool.question, pool.texts(reranker.before))
    report: dict[str, dict[str, dict[str, float]]] = {}
    reference: dict[int, list[int]] = {}
    for name, (model, batch) in ways.items():
        reranker.model, reranker.batch = model, batch
        report[name] = {}
        for depth in DEPTHS:
            times, hits, picks = [], [], []
            for pool in pools:
                texts = pool.texts(reranker.before)[:depth]
                started = time.perf_counter()
                scores = reranker.score(pool.question, texts)
                times.append((time.perf_counter() - started) * 1000)
                final = mix(scores, pool.first[: len(texts)], reranker.first_weight)
                hits.append(bool(pool.labels[int(np.argmax(final))]))
                picks.append(int(np.argmax(scores)))
            reference.setdefault(depth, picks)
            ordered = sorted(times)
            report[name][str(depth)] = {
                "mean_ms": round(statistics.fmean(times), 1),
                "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
                "hit@1": round(float(np.mean(hits)), 4),
                "top_pick_differs": round(float(np.mean(np.asarray(picks) != reference[depth])), 4),
            }
            print(name, depth, json.dumps(report[name][str(depth)]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"questions": len(pools), "ways": report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
