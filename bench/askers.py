"""Questions a second with 4 askers against 1: on the engine's threads, and on answering processes.

    python bench/askers.py DATA_DIR QUESTIONS.jsonl [--processes 2] [--rounds 2]

With the configured settings (the model and the reranker, unless NEWSBOT_* says otherwise), over the
questions of a jsonl file (e.g. ../shared/eval/news-dev/questions.jsonl). `bench/scale.py` reports the
same ratios model-free. Also prints each answering process's memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

from index.engine import Engine
from index.processes import Answerer, QuestionProcesses
from index.settings import Settings


def parallel_gain(four: Answerer, one: Engine, questions: list[str], rounds: int = 3) -> float:
    """Questions a second with 4 askers of ``four`` over 1 asker of ``one``: the median of `rounds`
    ratios, each of the two taken in turn, since one run of each moved by ±0.2 from run to run on a
    busy VM."""
    ratios = [throughput(four, questions, 4) / throughput(one, questions, 1) for _ in range(rounds)]
    return round(statistics.median(ratios), 2)


def throughput(answerer: Answerer, questions: list[str], askers: int) -> float:
    """Questions answered per second by `askers` threads sharing the questions."""
    share = [questions[i::askers] for i in range(askers)]
    threads = [threading.Thread(target=lambda qs=qs: [answerer.ask(q) for q in qs]) for qs in share]
    t = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(questions) / (time.perf_counter() - t)


def processes_gain(
    settings: Settings, engine: Engine, questions: list[str], workers: int, rounds: int = 3
) -> tuple[float, list[int]]:
    """`parallel_gain` of 4 askers on ``workers`` answering processes warmed as the engine was, and
    each process's memory (MB) after it."""
    processes = QuestionProcesses(settings, workers)
    try:
        processes.warm()
        throughput(processes, questions, 4)  # their page caches warmed as the engine's were
        return parallel_gain(processes, engine, questions, rounds), [_memory_mb(p) for p in processes.pids]
    finally:
        processes.close()


def _memory_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in args.questions.open() if line.strip()]
    settings = Settings(data_dir=args.data_dir)
    engine = Engine(settings)
    throughput(engine, questions, 1)  # the model, the index and the page cache warmed
    print(f"1 asker: {throughput(engine, questions, 1):.2f} questions/s")
    print(f"4 askers / 1, threads: {parallel_gain(engine, engine, questions, args.rounds)}")
    gain, memory = processes_gain(settings, engine, questions, args.processes, args.rounds)
    print(f"4 askers / 1, {args.processes} processes: {gain} (memory of each, MB: {memory})")
    engine.close()


if __name__ == "__main__":
    main()
