"""The engine at scale, model-free: synthetic news corpora of growing size (not run by CI).

    python bench/scale.py --sizes 10000 100000 1000000 [--questions 200] [--work /tmp/newsbot-scale]

Articles are made of real BBC sentences (../shared/eval/bbc-news) drawn at random, 6 to 10 to an
article, embedded by the model-free hash embedder (NEWSBOT_MODEL=hash), so the figures are the
engine's own costs: per-question latency (p50 / p95, first stage, one asker), throughput with 4
askers against 1 (4 threads on the engine, and 4 threads waiting on 2 answering processes, as
NEWSBOT_ANSWER_PROCESSES=2 serves: bench/askers.py), ingest speed, index bytes, a 10-article delta
ingest, a rebuild of the vector index from SQLite, and a fresh `newsbot ask` process (cold start,
peak RSS). ANN recall against exact search is bench/ann_recall.py's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from askers import parallel_gain, processes_gain  # a sibling script: bench/ is on sys.path

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.reading.presplit import WORKERS

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "eval" / "bbc-news" / "articles.jsonl"


def sentences() -> list[str]:
    from index.reading.sentences import split_sentences

    out = []
    with BBC.open(encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"]
            out += [text[a:b] for a, b in split_sentences(text)]
    return out


def articles(pool: list[str], count: int, rng: random.Random, prefix: str) -> list[ArticleIn]:
    made = []
    for n in range(count):
        body = rng.sample(pool, rng.randint(6, 10))
        made.append(ArticleIn(body[0][:80], "\n\n".join(body), id=f"{prefix}{n}", source=f"Outlet {n % 20}"))
    return made


def settings(data: Path) -> Settings:
    return Settings(data_dir=data, model="hash", rerank=False, _env_file=None)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(size: int, pool: list[str], args: argparse.Namespace) -> dict:
    rng = random.Random(size)
    data = args.work / f"p{size}"
    engine = Engine(settings(data))
    started = time.perf_counter()
    before = engine.store.count("sentences")
    built = 0
    while engine.store.count("passages") < size:  # ~4 passages an article: grow until the size is met
        need = max(1, (size - engine.store.count("passages")) // 4)
        batch = articles(pool, min(need, 20_000), rng, f"a{built}-")
        built += engine.ingest(batch, split_workers=WORKERS).stored
    ingest_s = time.perf_counter() - started
    report = {
        "passages": engine.store.count("passages"),
        "sentences": engine.store.count("sentences"),
        # of this run's build: none when the dir was built before
        "ingest sentences/s": round((engine.store.count("sentences") - before) / ingest_s) if built else None,
    }
    questions = [" ".join(rng.choice(pool).split()[:8]) for _ in range(args.questions)]
    engine.ask(questions[0])
    latencies = []
    for q in questions:
        t = time.perf_counter()
        engine.ask(q)
        latencies.append((time.perf_counter() - t) * 1000)
    report["ask mean ms"] = round(statistics.fmean(latencies), 1)
    report["ask p50 ms"] = round(statistics.median(latencies), 1)
    report["ask p95 ms"] = round(percentile(latencies, 0.95), 1)
    report["4 askers / 1"] = parallel_gain(engine, engine, questions)
    report["4 askers / 1, 2 processes"] = processes_gain(settings(data), engine, questions, 2)[0]
    t = time.perf_counter()
    engine.ingest(articles(pool, 10, rng, "delta-"))
    report["10-article ingest s"] = round(time.perf_counter() - t, 2)
    report["index bytes"] = sum(p.stat().st_size for p in data.glob("passages.*"))
    engine.close()
    for path in data.glob("passages.*"):
        path.unlink()
    engine = Engine(settings(data))
    t = time.perf_counter()
    engine.index  # noqa: B018 - the property rebuilds the missing index from SQLite
    report["rebuild s"] = round(time.perf_counter() - t, 1)
    report["index"] = engine.index.info.get("kind")
    engine.close()
    report.update(_cold_ask(data, questions[1]))
    return report


def _cold_ask(data: Path, question: str) -> dict:
    """A fresh process's first answer, and its peak memory: VmHWM, the high-water mark of its own memory
    since exec (getrusage's ru_maxrss would carry over this big parent's, as a forked child inherits it)."""
    code = (
        "import re, sys, time; t = time.perf_counter(); from bot.cli import main; "
        f"main(['ask', '--data-dir', {str(data)!r}, {question!r}]); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print('COLD', time.perf_counter() - t, hwm)"
    )
    env = {"NEWSBOT_MODEL": "hash", "NEWSBOT_RERANK": "false", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    line = [x for x in done.stdout.splitlines() if x.startswith("COLD")][-1].split()
    return {"cold ask s": round(float(line[1]), 2), "peak RSS MB": round(int(line[2]) / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-scale"))
    args = parser.parse_args()
    pool = sentences()
    rows = [measure(size, pool, args) for size in args.sizes]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join("–" if row[k] is None else str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
