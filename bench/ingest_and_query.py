"""Ingest throughput against the raw model, and warm query latency (not run by CI).

    python bench/ingest_and_query.py --articles ../shared/eval/reqa-squad/articles.jsonl \
        [--questions ../shared/eval/reqa-squad/questions.jsonl] [--queries 300]

Both timings use one loaded model in one run: first `SentenceTransformer.encode` of every sentence
the engine would index (split the same way), then a full `newsbot ingest` of the same file into a
fresh data dir. The ratio is raw time / ingest time (1.0 = ingest costs nothing beyond the model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.reading.readers import read_paths
from index.reading.sentences import split_sentences
from index.storage.embed import SentenceTransformerEmbedder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument("--questions", type=Path, help="questions JSONL for the latency run")
    parser.add_argument("--queries", type=int, default=300, help="questions timed one by one")
    args = parser.parse_args()

    model = SentenceTransformerEmbedder("")
    articles = [a for a in read_paths([args.articles]) if isinstance(a, ArticleIn)]
    sentences = [a.text[s:e] for a in articles for s, e in split_sentences(a.text)]
    model.encode(sentences[:256])  # warm-up

    started = time.perf_counter()
    model.encode(sentences)
    raw = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Settings(data_dir=Path(tmp), _env_file=None), embedder=model)
        started = time.perf_counter()
        report = engine.ingest_paths([args.articles])
        ingest = time.perf_counter() - started

        questions = _questions(args, articles)
        engine.ask(questions[0])  # warm-up: first query loads the FAISS index
        latencies = []
        for question in questions:
            started = time.perf_counter()
            engine.ask(question)
            latencies.append((time.perf_counter() - started) * 1000)
        engine.close()

    latencies.sort()
    result = {
        "articles": report.new,
        "sentences": len(sentences),
        "raw_encode_s": round(raw, 1),
        "raw_sentences_per_s": round(len(sentences) / raw),
        "ingest_s": round(ingest, 1),
        "ingest_sentences_per_s": round(report.sentences / ingest),
        "throughput_ratio": round(raw / ingest, 3),
        "queries": len(latencies),
        "query_ms_mean": round(statistics.fmean(latencies), 1),
        "query_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }
    print(json.dumps(result, indent=2))
    print("\n| articles | sentences | raw encode s | ingest s | ratio | query mean ms | query p95 ms |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {result['articles']} | {result['sentences']} | {result['raw_encode_s']} | {result['ingest_s']} | "
        f"{result['throughput_ratio']} | {result['query_ms_mean']} | {result['query_ms_p95']} |"
    )


def _questions(args: argparse.Namespace, articles: list[ArticleIn]) -> list[str]:
    if args.questions:
        with args.questions.open(encoding="utf-8") as handle:
            return [
                json.loads(line)["question"] for line, _ in zip(handle, range(args.queries), strict=False)
            ]
    return [a.title for a in articles[: args.queries]]


if __name__ == "__main__":
    main()
