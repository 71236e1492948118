"""Questions a second with 4 askers against 1: on the engine's threads, and on answering processes.

    python bench/askers.py DATA_DIR QUESTIONS.jsonl [--processes 2] [--rounds 2]

With the configured settings (the model and the reranker, unless NEWSBOT_* says otherwise), over the
questions of a jsonl file (e.g. ../shared/eval/news-dev/questions.jsonl). `bench/scale.py` reports the
same ratios model-free. Also prints each answering process's memory.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from index.core.settings import Settings
from index.engine import Engine
from index.features.evaluate import load_questions
from index.processes import Answerer, QuestionProcesses


def parallel_gain(four: Answerer, one: Engine, questions: list[str], rounds: int = 3) -> float:
    """Questions a second with 4 askers of ``four`` over 1 asker of ``one``: the median of `rounds`
    ratios, each of the two taken in turn, since one run of each moved by ±0.2 from run to run on a
    busy VM. The askers are long-lived threads, as the bot's are: a new thread opens a new SQLite
    connection whose page cache starts empty, which new threads at every run paid for."""
    with ThreadPoolExecutor(4) as many, ThreadPoolExecutor(1) as single:
        throughput(many, four, questions, 4)  # every thread's connection warmed
        throughput(single, one, questions, 1)
        ratios = [
            throughput(many, four, questions, 4) / throughput(single, one, questions, 1)
            for _ in range(rounds)
        ]
    return round(statistics.median(ratios), 2)


def throughput(threads: ThreadPoolExecutor, answerer: Answerer, questions: list[str], askers: int) -> float:
    """Questions answered per second by `askers` of the threads sharing the questions."""
    t = time.perf_counter()
    shares = [
        threads.submit(lambda qs=questions[i::askers]: [answerer.ask(q) for q in qs]) for i in range(askers)
    ]
    for share in shares:
        share.result()  # an asker's error is raised here, not counted as speed
    return len(questions) / (time.perf_counter() - t)


def processes_gain(
    settings: Settings, engine: Engine, questions: list[str], workers: int, rounds: int = 3
) -> tuple[float, list[int]]:
    """`parallel_gain` of 4 askers on ``workers`` answering processes warmed as the engine was, and
    each process's memory (MB) after it."""
    processes = QuestionProcesses(settings, workers)
    try:
        pids = processes.warm()
        return parallel_gain(processes, engine, questions, rounds), [memory(p)["rss"] for p in pids]
    finally:
        processes.close()


def memory(pid: int) -> dict[str, int]:
    """A process's resident memory in MB: all of it (``rss``), its own (``anon``: heaps, caches, the
    models) and the files it maps (``file``: SQLite files readers map, the libraries), which the
    kernel may drop and reread at will."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {
        kind: int(status[field].split()[0]) // 1024
        for kind, field in (("rss", "VmRSS"), ("anon", "RssAnon"), ("file", "RssFile"))
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    questions = [q.question for q in load_questions(args.questions)]
    settings = Settings(data_dir=args.data_dir)
    engine = Engine(settings)
    with ThreadPoolExecutor(1) as single:
        throughput(single, engine, questions, 1)  # the model, the index and the page cache warmed
        print(f"1 asker: {throughput(single, engine, questions, 1):.2f} questions/s")
    print(f"4 askers / 1, threads: {parallel_gain(engine, engine, questions, args.rounds)}")
    gain, memory = processes_gain(settings, engine, questions, args.processes, args.rounds)
    print(f"4 askers / 1, {args.processes} processes: {gain} (memory of each, MB: {memory})")
    engine.close()


if __name__ == "__main__":
    main()
