#!/usr/bin/env bash
# Rebuild models/reranker as shipped, in two trainings (docs/benchmarks.md, "The fits"):
#   1. the base model: bench/train_reranker.py's defaults (reqa-squad's even half and news-train);
#   2. a warm start from it: one epoch on every news writer's training questions, a quarter of reqa's,
#      a topic query from each news training article's title (--topics 2), and a quarter of the
#      questions shown without their answer against a "none of these" slot (--no-answer-share 0.25),
#      so that its logit says whether anything it read answers, which refusal weighs; half the
#      writers' unanswerable questions train that slot too, every candidate wrong (--unanswerable);
#      its validation chooses how many of the first stage's sentences it reads, at most 30 (the time
#      budget, served with bfloat16 products: /ask 127 ms mean reading 30). It trains in mixed
#      precision (--bfloat16: 1.5x the pairs per second where the CPU multiplies bfloat16 natively).
# Each runs in resumable chunks of 40 minutes, kept in $WORK: run this again after a stop and it goes
# on where it stopped. REQA and NEWS are data dirs with reqa-squad's and the BBC articles ingested:
#   newsbot ingest --data-dir /tmp/reqa ../shared/eval/reqa-squad/articles.jsonl
#   newsbot ingest --data-dir /tmp/bbc ../shared/eval/bbc-news/articles.jsonl examples/news
set -euo pipefail
cd "$(dirname "$0")/.."
REQA=${REQA:-/tmp/reqa}
NEWS=${NEWS:-/tmp/bbc}
WORK=${WORK:-/tmp/rr}
PYTHON=${PYTHON:-.venv/bin/python}

# train OUT STATE ARGS...: one training, chunk after chunk, until it has saved OUT ($STATE/done then)
train() {
  local out=$1 state=$2 status=3
  shift 2
  if [ -e "$state/done" ]; then return 0; fi
  while [ "$status" -eq 3 ]; do  # 3: a chunk ran out of time with its state kept
    status=0
    "$PYTHON" bench/train_reranker.py --reqa "$REQA" --news "$NEWS" --cache "$WORK/pools" \
      --checkpoint "$state" --max-minutes 40 --resume --out "$out" "$@" || status=$?
  done
  if [ "$status" -ne 0 ]; then return "$status"; fi
  mkdir -p "$state" && touch "$state/done"
}

train "$WORK/base" "$WORK/base-state"
train models/reranker "$WORK/warm-state" \
  --news-questions bench/data/news-train-*.jsonl bench/data/news-train2-*.jsonl \
  bench/data/news-train3-*.jsonl bench/data/news-train4-*.jsonl bench/data/news-train5-*.jsonl \
  bench/data/news-train6-*.jsonl bench/data/news-train7-*.jsonl \
  --reqa-share 0.25 --init "$WORK/base" --epochs 1 --lr 2e-5 --head-lr 2e-4 --negative-depth 20 \
  --topics 2 --no-answer-share 0.25 --unanswerable --bfloat16 --max-top 30
