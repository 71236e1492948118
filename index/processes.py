"""Questions answered in worker processes, each with an engine of its own on the same data dir.

Threads share one interpreter lock, and about half of a model-free question's time holds it
(building rows, features, stems): on 2 cores 4 threads answer only 0.9-1.5x as many questions as one
(`bench/scale.py`). Processes do not share it. Each worker opens its own read-only `Engine` (its own
model, SQLite connection and memory-mapped passage index) and follows the writer as any second
process does (`Engine.refresh`: new articles are answered from within a few seconds of being saved).
The caller keeps its own engine for everything that writes (ingest, forget, feeds), so writes stay in
one process.

Each worker has a pipe of its own, and a calling thread holds an idle worker for the whole of its
question: the call is one send and one receive, with no thread between, and a worker that dies costs
only the question it was answering. (`ProcessPoolExecutor` routes every call through two threads of
the caller's process, and one dead worker breaks the whole pool.) On 2 cores a round trip to an idle
worker took 0.055 ms against the executor's 0.17 ms; over whole 5 ms questions at 10k passages (4
askers / 1, `bench/askers.parallel_gain`, six interleaved runs of each) the pipes gave a median 1.77
against the executor's 1.71, while a second such comparison gave 1.39 against 1.56: on this VM the
difference is within the run-to-run noise.

Lock story: the queue of idle workers is the only shared state. A thread owns the worker it took
until it puts it back, so only that thread writes its pipe or replaces it when it has died. A worker
left between a call and its reply (an interrupt) is replaced too: its next reply would be the old
question's answer.

Workers are spawned, not forked (the model's and FAISS's threads must not be inherited), so the
caller's main module must be guarded (`newsbot serve` and `python -m bot` are; see `index.reading.presplit`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from typing import Protocol, TypeVar, cast

from index.core.settings import Settings
from index.engine import Engine, SearchHit
from index.search.answer import AskResult
from index.storage.store import Filters

log = logging.getLogger(__name__)

_DIED = (EOFError, OSError)  # what a pipe raises once the process at its other end is gone

T = TypeVar("T", covariant=True)


# What travels down a worker's pipe: a request, answered by the worker's engine ...
class Request(Protocol[T]):
    """A call a worker answers: the type says what is asked, and `answer` how (no method names)."""

    def answer(self, engine: Engine) -> T: ...


@dataclass(frozen=True)
class Ask:
    """`Engine.ask` in a worker."""

    question: str
    k: int | None = None
    filters: Filters | None = None

    def answer(self, engine: Engine) -> AskResult:
        return engine.ask(self.question, self.k, self.filters)


@dataclass(frozen=True)
class Search:
    """`Engine.search` in a worker."""

    query: str
    k: int | None = None
    filters: Filters | None = None

    def answer(self, engine: Engine) -> list[SearchHit]:
        return engine.search(self.query, self.k, self.filters)


# ... and what comes back up it: that the engine is open, a request's answer, or its error.
@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class Answered:
    value: AskResult | list[SearchHit]


@dataclass(frozen=True)
class Failed:
    error: Exception


Reply = Ready | Answered | Failed


def _serve(pipe: Connection, settings: Settings, threads: int, cores: set[int]) -> None:
    """A worker's life: keep to ``cores``, open the engine (the model and the index loaded now, not at
    the first question), say so, then answer calls until told to stop or the caller is gone.

    Its torch runs ``threads`` threads (set before torch loads): two workers each running a thread
    per core answered 0.4x the questions of one process on 2 cores; with one thread each, 1.14x. A
    worker kept to its cores finds its caches warm: on 2 cores at 10k passages (5 ms questions) 2
    workers kept to one core each answered 4 askers 391 questions/s against 365 left to the
    scheduler (through `ProcessPoolExecutor`, the mean of three runs of each; over these pipes, a
    median 1.77 against 1.73 of one asker, within the noise)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    try:
        engine = Engine(settings)
        engine.ask("warm up")
    except Exception as error:  # noqa: BLE001 - raised in the caller, at start-up
        pipe.send(Failed(error))
        return
    pipe.send(Ready(os.getpid()))
    try:
        while (request := pipe.recv()) is not None:
            reply: Reply
            try:
                reply = Answered(request.answer(engine))
            except Exception as error:  # noqa: BLE001 - the question's error is the caller's
                reply = Failed(error)
            pipe.send(reply)
    except _DIED:
        pass  # the caller is gone
    finally:
        engine.close()


def core_shares(cores: list[int], workers: int) -> list[set[int]]:
    """Each worker's cores: an equal share of ``cores`` each, or all of them when there are more
    workers than cores (the scheduler then shares them out)."""
    per = len(cores) // workers
    if not per:
        return [set(cores)] * workers
    return [set(cores[n * per : (n + 1) * per]) for n in range(workers)]


class _Worker:
    """One answering process and the caller's end of its pipe."""

    def __init__(self, context: SpawnContext, settings: Settings, threads: int, cores: set[int]) -> None:
        self.cores = cores
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(theirs, settings, threads, cores), name="newsbot-answers", daemon=True
        )
        self.process.start()
        theirs.close()
        self.pid: int | None = None  # known once it has opened its engine
        self.awaiting = True  # a reply is due: its readiness, then each call's answer

    def ready(self) -> int:
        """Wait until its engine is open; returns its process id."""
        if self.pid is None:
            reply = self._receive()
            if not isinstance(reply, Ready):
                raise RuntimeError(f"an answering process said {reply!r} before it was ready")
            self.pid = reply.pid
        return self.pid

    def call(self, request: Request[T]) -> T:
        self.ready()
        self.pipe.send(request)
        self.awaiting = True
        reply = self._receive()
        if not isinstance(reply, Answered):
            raise RuntimeError(f"an answering process said {reply!r} in reply to {request!r}")
        return cast(T, reply.value)  # the answer to `request`: what its `answer` returns

    def _receive(self) -> Reply:
        """The next reply; a `Failed` one's error is raised here."""
        reply: Reply = self.pipe.recv()
        self.awaiting = False
        if isinstance(reply, Failed):
            raise reply.error
        return reply

    def stop(self) -> None:
        with contextlib.suppress(_DIED):  # already gone
            self.pipe.send(None)
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
        self.pipe.close()


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
        self._context = multiprocessing.get_context("spawn")
        if hasattr(os, "sched_getaffinity"):
            cores = sorted(os.sched_getaffinity(0))  # those this process may use, in a container too
        else:
            cores = list(range(os.cpu_count() or 1))
        self._threads = max(1, len(cores) // workers)
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for share in core_shares(cores, workers):
            self._idle.put(self._start(share))

    def _start(self, cores: set[int]) -> _Worker:
        return _Worker(self._context, self.settings, self._threads, cores)

    def warm(self) -> list[int]:
        """Wait until every worker has loaded its model and index; returns their process ids. A
        worker that cannot open its engine raises here, at start-up, not at the first question."""
        held = [self._take() for _ in range(self.workers)]
        try:
            return sorted(worker.ready() for worker in held)
        finally:
            for worker in held:
                self._idle.put(worker)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> AskResult:
        return self._run(Ask(question, k, filters))

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        return self._run(Search(query, k, filters))

    def _run(self, request: Request[T]) -> T:
        worker = self._take()
        try:
            return worker.call(request)
        except _DIED:
            log.warning("a question worker died; starting a new one and asking it again")
            worker.stop()
            worker = self._start(worker.cores)
            return worker.call(request)
        finally:
            if worker.awaiting:  # left mid-call (interrupted, or died again): its replies are out of step
                worker.stop()
                worker = self._start(worker.cores)
            self._idle.put(worker)

    def _take(self) -> _Worker:
        worker = self._idle.get()
        if worker is None:  # closed: wake the next waiting thread too
            self._idle.put(None)
            raise RuntimeError("the answering processes are closed")
        return worker

    def close(self) -> None:
        """Let the questions being answered finish, stop every worker; questions still waiting for
        a worker are refused."""
        for _ in range(self.workers):
            self._take().stop()
        self._idle.put(None)
