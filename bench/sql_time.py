"""Where a model-free question's time goes, statement by statement, on a data dir bench/scale.py built.

    python bench/scale.py --sizes 1000000            # builds /tmp/newsbot-scale/p1000000
    python bench/sql_time.py /tmp/newsbot-scale/p1000000 [--questions 200]

Asks questions made as bench/scale.py makes them (a random BBC sentence's first 8 words; --seed picks
them) and reports the mean per question, the share of it spent in SQL, and the costliest statements
(their first 90 characters) per question.
"""

from __future__ import annotations

import argparse
import collections
import random
import time
from pathlib import Path

from scale import sentences, settings

from index.engine import Engine
from index.storage.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1_000_000)
    args = parser.parse_args()
    engine = Engine(settings(args.data))
    pool = sentences()
    rng = random.Random(args.seed)
    questions = [" ".join(rng.choice(pool).split()[:8]) for _ in range(args.questions)]
    engine.ask(questions[0])
    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    query = Store.query

    def timed(store: Store, sql: str, params=()) -> list[dict]:
        started = time.perf_counter()
        try:
            return query(store, sql, params)
        finally:
            key = " ".join(sql.split())[:90]
            spent[key] += time.perf_counter() - started
            calls[key] += 1

    Store.query = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    for q in questions:
        engine.ask(q)
    total = time.perf_counter() - started
    engine.close()
    n = len(questions)
    print(f"mean {total / n * 1000:.1f} ms a question, {sum(spent.values()) / total:.0%} of it in SQL")
    for key, seconds in spent.most_common(args.top):
        print(f"{seconds / n * 1000:7.2f} ms  {calls[key] / n:5.2f} calls  {key}")


if __name__ == "__main__":
    main()
