"""What reading more candidates costs the reranker, and what each way of making it cheaper keeps.

    python bench/rerank_speed.py --data-dir /tmp/bbc QUESTIONS.jsonl... [--reranker DIR]

Each question's first-stage pool (its best 30 quotable sentences, as `newsbot ask` finds them) is
collected once; then every way of scoring (float32 with one padded batch, float32 in batches of
similar length, dynamic int8 per tensor and per channel, bfloat16 weights, and float32 weights whose
matrix products run in bfloat16 as served where the CPU multiplies it natively) reads the best 10, 20
and 30 of each pool.
Reported per way and depth: the first stage's recall (an answering sentence among what is read), and
milliseconds per question (mean, p95), hit@1 of the served mix (the
model's z-score plus the folder's first-stage weight), and how often the top pick differs from float32
read in one batch at the same depth. Every way reads each question in turn, so a busy machine slows
them alike; the absolute times are a quiet machine's only when it is run on one.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
import warnings
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from train_reranker import Example, _first_stage_engine, collect  # sibling script: bench/ is on sys.path

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


def first_stage(pools: list[Example], depth: int) -> dict[str, float]:
    """What the reranker can reach reading ``depth``: the share of questions with an answering sentence
    among the first stage's best ``depth`` (its recall), and its own hit@1."""
    return {
        "recall": round(float(np.mean([p.labels[:depth].any() for p in pools])), 4),
        "hit@1": round(float(np.mean([bool(p.labels[0]) for p in pools if p.labels.size])), 4),
    }


@dataclass
class Run:
    """One way of scoring at one depth: its times, top picks and hits over the questions."""

    times: list[float] = field(default_factory=list)
    picks: list[int] = field(default_factory=list)
    hits: list[bool] = field(default_factory=list)

    def add(self, seconds: float, scores: np.ndarray, pool: Example, first_weight: float) -> None:
        self.times.append(seconds * 1000)
        self.picks.append(int(np.argmax(scores)))
        final = mix(scores, pool.first[: len(scores)], first_weight)
        self.hits.append(bool(pool.labels[int(np.argmax(final))]))

    def summary(self, reference: list[int]) -> dict[str, float]:
        ordered = sorted(self.times)
        return {
            "mean_ms": round(statistics.fmean(ordered), 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "hit@1": round(float(np.mean(self.hits)), 4),
            "top_pick_differs": round(float(np.mean(np.asarray(self.picks) != reference)), 4),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--reranker", type=Path, default=SHIPPED)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    questions = [q for path in args.questions for q in load_questions(path) if q.answers]
    with closing(_first_stage_engine(args.data_dir)) as engine:
        pools = collect(engine, questions, "news")
    reranker = CrossEncoderReranker(args.reranker, precision="float32")
    reranker.batch = 0
    fp32 = reranker.model
    bf16 = copy.deepcopy(fp32).to(torch.bfloat16)  # fast only where the CPU multiplies it natively
    ways = {  # the model, pairs per batch (0: one batch), and whether to multiply in bfloat16
        "float32, one batch": (fp32, 0, False),
        "float32, batches of 8 by length": (fp32, 8, False),
        "float32, batches of 16 by length": (fp32, 16, False),
        "int8 per tensor, batches of 8": (quantized(fp32, False), 8, False),
        "int8 per channel, batches of 8": (quantized(fp32, True), 8, False),
        "bfloat16 weights, batches of 16": (bf16, 16, False),
        "bfloat16 products, one batch": (fp32, 0, True),
        "bfloat16 products, batches of 16 (served)": (fp32, 16, True),
    }
    for pool in pools[:5]:  # warm up
        reranker.score(pool.question, pool.texts(reranker.before))
    runs = {(name, depth): Run() for name in ways for depth in DEPTHS}
    for pool in pools:  # every way in turn on each question, so a busy machine slows them alike
        for depth in DEPTHS:
            texts = pool.texts(reranker.before)[:depth]
            for name, (model, batch, bfloat16) in ways.items():
                reranker.model, reranker.batch, reranker.bfloat16 = model, batch, bfloat16
                started = time.perf_counter()
                scores = reranker.score(pool.question, texts)
                runs[name, depth].add(time.perf_counter() - started, scores, pool, reranker.first_weight)
    reference = {depth: runs[next(iter(ways)), depth].picks for depth in DEPTHS}
    report: dict[str, dict[str, dict[str, float]]] = {
        name: {str(depth): runs[name, depth].summary(reference[depth]) for depth in DEPTHS} for name in ways
    }
    report["first stage"] = {str(depth): first_stage(pools, depth) for depth in DEPTHS}
    for name, depths in report.items():
        for depth, figures in depths.items():
            print(f"{name:<36} {depth:>3}  {json.dumps(figures)}")
    if args.json:
        args.json.write_text(json.dumps({"questions": len(pools), "ways": report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
