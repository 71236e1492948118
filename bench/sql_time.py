"""Where a model-free question's time goes, statement by statement, on a data dir bench/scale.py built.

    python bench/scale.py --sizes 1000000            # builds /tmp/newsbot-scale/p1000000
    python bench/sql_time.py /tmp/newsbot-scale/p1000000 [--questions 200]
    python bench/sql_time.py DIR --database-url postgresql://...   # the same on PostgreSQL + pgvector

Asks questions made as bench/scale.py makes them (a random BBC sentence's first 8 words; --seed picks
them) and reports the mean per question, the share of it spent in the store's statements and the
vector search (on PostgreSQL SQL too), and the costliest of them (a statement's first 90 characters)
per question. With --database-url (a database `newsbot migrate` filled from DIR, say) the store and
the vectors are PostgreSQL's, and DIR holds only the machine's locks.
"""

from __future__ import annotations

import argparse
import collections
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scale import BBC, sentences, settings

from index.engine import Engine


def timed(
    owner: type, name: str, key: Callable[..., str], spent: collections.Counter, calls: collections.Counter
) -> None:
    """Wrap ``owner.name`` so each call's seconds add up under ``key(*its arguments)``."""
    method = getattr(owner, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            label = key(*args)
            spent[label] += time.perf_counter() - started
            calls[label] += 1

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path)
    parser.add_argument("--database-url", help="ask a PostgreSQL database instead of DIR's SQLite")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1_000_000)
    args = parser.parse_args()
    engine = Engine(settings(args.data, args.database_url))
    pool = sentences(BBC)
    rng = random.Random(args.seed)
    questions = [" ".join(rng.choice(pool).split()[:8]) for _ in range(args.questions)]
    engine.ask(questions[0])
    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    timed(type(engine.store), "query", lambda sql, *_: " ".join(sql.split())[:90], spent, calls)
    timed(type(engine.index), "search", lambda *_: "(vector search)", spent, calls)
    started = time.perf_counter()
    for q in questions:
        engine.ask(q)
    total = time.perf_counter() - started
    engine.close()
    n = len(questions)
    share = sum(spent.values()) / total
    print(f"mean {total / n * 1000:.1f} ms a question, {share:.0%} of it in the store and the vector search")
    for key, seconds in spent.most_common(args.top):
        print(f"{seconds / n * 1000:7.2f} ms  {calls[key] / n:5.2f} calls  {key}")


if __name__ == "__main__":
    main()
