"""Questions answered in worker processes, each with an engine of its own on the same data dir.

Threads share one interpreter lock, and about half of a model-free question's time holds it
(building rows, features, stems): on 2 cores 4 threads answer only 0.9-1.5x as many questions as one
(`bench/scale.py`). Processes do not share it. Each worker opens its own read-only `Engine` (its own
model, SQLite connection and memory-mapped passage index) and follows the writer as any second
process does (`Engine.refresh`: new articles are answered from within a few seconds of being saved).
The caller keeps its own engine for everything that writes (ingest, forget, feeds), so writes stay in
one process.

Workers are spawned, not forked (the model's and FAISS's threads must not be inherited), so the
caller's main module must be guarded (`newsbot serve` and `python -m bot` are; see `index.presplit`).
A worker that dies takes the pool with it; the next question starts a new pool and is answered there.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from index.answer import AskResult
from index.engine import Engine, SearchHit
from index.settings import Settings
from index.store import Filters

log = logging.getLogger(__name__)

_engine: Engine | None = None  # the worker's own, opened by `_open`


def _open(settings: Settings, threads: int) -> None:
    """In a new worker: open its engine and load the model and the index now, not at its first question.
    Its torch runs ``threads`` threads (set before torch loads): two workers each running a thread per
    core answered 0.4x the questions of one process on 2 cores; with one thread each, 1.14x."""
    global _engine
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    _engine = Engine(settings)
    _engine.ask("warm up")


def _pid(pause: float) -> int:
    time.sleep(pause)  # long enough that every ready worker takes one of a round's calls
    return os.getpid()


def _call(method: str, *args: Any) -> Any:
    assert _engine is not None, "the worker's engine is opened by the pool's initializer"
    return getattr(_engine, method)(*args)


class Answerer(Protocol):
    """What answers questions: an `Engine`, or `QuestionProcesses` on its data dir."""

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> AskResult: ...

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]: ...


class QuestionProcesses:
    """`ask` and `search` with `Engine`'s signatures, answered by ``workers`` processes."""

    def __init__(self, settings: Settings, workers: int) -> None:
        # Only the engine's own settings travel (a bot's settings also hold its token).
        self.settings = Settings.model_validate(settings.model_dump(include=set(Settings.model_fields)))
        self.workers = workers
        self._lock = threading.Lock()  # guards swapping a broken pool for a new one
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open,
            initargs=(self.settings, max(1, (os.cpu_count() or 1) // self.workers)),
        )

    def warm(self) -> list[int]:
        """Start every worker and wait until each has loaded its model and index (a worker takes calls
        only once its initializer is done); returns their process ids. A worker that cannot open its
        engine raises here, at start-up, not at the first question."""
        with self._lock:
            pool = self._pool
        ready: set[int] = set()
        while len(ready) < self.workers:
            ready |= {f.result() for f in [pool.submit(_pid, 0.05) for _ in range(self.workers)]}
        return sorted(ready)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> AskResult:
        return self._run("ask", question, k, filters)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        return self._run("search", query, k, filters)

    def _run(self, method: str, *args: Any) -> Any:
        with self._lock:
            pool = self._pool
        try:
            future: Future[Any] = pool.submit(_call, method, *args)
            return future.result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:  # the first to see it replaces it; the rest use the new one
                    log.warning("a question worker died; starting new ones")
                    self._pool = self._start()
                pool = self._pool
            return pool.submit(_call, method, *args).result()

    def close(self) -> None:
        """Let the questions being answered finish; those still waiting are cancelled."""
        with self._lock:
            self._pool.shutdown(wait=True, cancel_futures=True)
