"""The engine's parts: the store, opened and checked, and the parts made from it on first use (the
model, the reranker, the passage index and what reads it), behind the one lock that guards them."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from index.core.errors import EngineError, OperatorError
from index.core.settings import Settings
from index.reading.feeds import FeedStore
from index.reading.ingest import stored_passage_chunks
from index.search.candidates import CandidateFinder
from index.search.evidence import Evidence
from index.search.rerank import Reranker
from index.search.termstats import TermStats
from index.storage.embed import BUNDLED_MODEL, Embedder
from index.storage.interface import NewsStore, PassageVectors
from index.storage.locks import FileLocks, ProcessLocks
from index.storage.store import SCHEMA_VERSION, Store
from index.storage.vectors import PassageIndex

if TYPE_CHECKING:
    from index.storage.postgres.store import PostgresStore

log = logging.getLogger(__name__)

_UNMADE = object()  # a part not made yet (the reranker, when off, is made as None)


def open_store(settings: Settings) -> NewsStore:
    """The store, upgraded in place if it is of the version before: PostgreSQL's when
    ``database_url`` is set, else the data dir's SQLite file. An `EngineError` saying what to do when
    it is unusable (a traceback otherwise) or of another version."""
    if settings.database_url:
        return _readable(*_open_postgres(settings, settings.database_url))
    return _readable(*_open_sqlite(settings))


def open_read_store(settings: Settings) -> NewsStore | None:
    """The read replica questions read (NEWSBOT_DATABASE_READ_URL), opened read-only: never migrated,
    never written. None when unset: questions read the store `open_store` opens."""
    url = settings.read_url()
    return None if url is None else _readable(*_open_postgres(settings, url, read_only=True))


def _readable(store: NewsStore, where: str, kind: str) -> NewsStore:
    """``store``, or an `EngineError` when another version of newsbot made it."""
    if not store.readable:  # migrated on open (index/storage/schema.py) when readable
        version = store.get_setting("schema_version")
        store.close()
        raise EngineError(
            f"{where} was made by another version of newsbot (schema {version}; this one "
            f"reads {SCHEMA_VERSION} and upgrades 2 in place): run that version's newsbot on it, or "
            f"move it aside and ingest the articles again into a new {kind}."
        )
    return store


_ELSEWHERE = "point --data-dir (or NEWSBOT_DATA_DIR) at a folder"


def _unusable(data_dir: Path, exc: OSError) -> EngineError:
    return EngineError(f"cannot use {data_dir} as the data dir ({exc.strerror or exc}): {_ELSEWHERE}")


def _open_sqlite(settings: Settings) -> tuple[NewsStore, str, str]:
    data_dir, db_path, where = settings.data_dir, settings.db_path, _ELSEWHERE
    if data_dir.exists() and not data_dir.is_dir():
        raise EngineError(f"the data dir {data_dir} is a file, not a folder: {where}")
    try:
        return Store(db_path), str(data_dir), "data dir"
    except OSError as exc:
        raise _unusable(data_dir, exc) from exc
    except sqlite3.DatabaseError as exc:
        raise EngineError(f"{db_path} is not a newsbot database ({exc}): {where} of its own") from exc


def _open_postgres(settings: Settings, url: str, *, read_only: bool = False) -> tuple[NewsStore, str, str]:
    """The tables in PostgreSQL (the passage vectors and the locks are there too). Imported here:
    psycopg is the ``postgres`` extra, which a SQLite deployment need not install."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable(settings.data_dir, exc) from exc
    try:
        from index.storage.postgres.store import PostgresStore
        from index.storage.postgres.urls import masked
    except ImportError as exc:
        raise EngineError(
            f"NEWSBOT_DATABASE_URL is set but the PostgreSQL client is missing ({exc}): "
            'pip install -e ".[postgres]", or unset NEWSBOT_DATABASE_URL to use the data dir'
        ) from exc
    return PostgresStore(url, read_only=read_only), f"the database at {masked(url)}", "database"


def open_locks(settings: Settings) -> ProcessLocks:
    """The locks between the processes sharing what `open_store` opens for the same ``settings``
    (`index.storage.locks`): the database's advisory locks, shared by every machine using it, or flock
    files in the data dir."""
    if settings.database_url:
        from index.storage.postgres.locks import PgLocks

        return PgLocks(settings.database_url)
    return FileLocks(settings.data_dir)


def open_passage_index(settings: Settings, store: NewsStore, model: str, dim: int) -> PassageVectors:
    """The passage vectors beside the store `open_store` opened for the same ``settings``: a pgvector
    table in its database, shared by every process, or FAISS files in the data dir. Not loaded yet."""
    if settings.database_url:
        from index.storage.postgres.vectors import PgVectorIndex

        postgres = cast("PostgresStore", store)
        return PgVectorIndex(postgres.pool, model, dim, read_only=postgres.read_only)
    return PassageIndex(
        settings.faiss_path, model, dim, kind=settings.vector_index, threshold=settings.ann_threshold
    )


class Parts:
    """Each part is made once, on first use, under `lock` (a question that finds it made takes no
    lock). The passage index and the finder that searches it are dropped together (`drop_index`)
    when the index goes stale, and made again from the files or SQLite at their next use.

    `lock` also guards an ingest's chunk write and a reindex: questions take their parts under it.
    `locks` are those between processes (`open_locks`), chosen with the store."""

    def __init__(
        self,
        settings: Settings,
        store: NewsStore,
        make_embedder: Callable[[], Embedder],
        make_reranker: Callable[[], Reranker | None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.locks = open_locks(settings)
        self.model_name = settings.model or BUNDLED_MODEL
        self.lock = threading.RLock()
        self._makers: dict[str, Callable[[], object]] = {
            "embedder": make_embedder,
            "reranker": make_reranker,
            "index": self._load_index,
            "finder": self._finder,
            "evidence": lambda: Evidence(
                store, self.term_stats, context_title_weight=settings.context_title_weight
            ),
            "term_stats": lambda: TermStats(store, settings),
            "feeds": lambda: FeedStore(store, settings),
        }
        self._made: dict[str, object] = {}
        self._next_refresh = 0.0
        self.models = self  # whose model and reranker these parts use: a replica's use the primary's
        self._replica: Parts | None = None  # the parts `for_questions` opened on a replica

    def for_questions(self) -> Parts:
        """The parts questions read: these, or with NEWSBOT_DATABASE_READ_URL parts over that replica
        (opened now, once) with a store, passage index, finder, evidence and term statistics of their
        own, and this engine's model and reranker, loaded once for both. They follow the replica's own
        generation (`refresh`): a lagging replica is read as it stands, its index with its rows."""
        if self._replica is None and (store := open_read_store(self.settings)) is not None:
            self._replica = Parts(self.settings, store, self._makers["embedder"], self._makers["reranker"])
            self._replica.models = self
        return self._replica or self

    def close(self) -> None:
        """Close the store, and the replica's questions read."""
        if self._replica is not None:
            self._replica.store.close()
        self.store.close()

    def _part(self, name: str) -> object:
        """The part, made now if it is not yet (read once: `drop_index` may run on another thread)."""
        part = self._made.get(name, _UNMADE)
        if part is _UNMADE:
            with self.lock:
                part = self._made.get(name, _UNMADE)
                if part is _UNMADE:
                    part = self._made[name] = self._makers[name]()
        return part

    @property
    def embedder(self) -> Embedder:
        return cast(Embedder, self.models._part("embedder"))

    @embedder.setter
    def embedder(self, embedder: Embedder) -> None:
        self.models._made["embedder"] = embedder

    @property
    def reranker(self) -> Reranker | None:
        return cast("Reranker | None", self.models._part("reranker"))

    @reranker.setter
    def reranker(self, reranker: Reranker | None) -> None:
        self.models._made["reranker"] = reranker

    @property
    def index(self) -> PassageVectors:
        return cast(PassageVectors, self._part("index"))

    @property
    def has_index(self) -> bool:
        """Whether the passage index has been loaded (it is not loaded to answer this)."""
        return "index" in self._made

    @property
    def finder(self) -> CandidateFinder:
        return cast(CandidateFinder, self._part("finder"))

    @property
    def evidence(self) -> Evidence:
        return cast(Evidence, self._part("evidence"))

    @property
    def term_stats(self) -> TermStats:
        return cast(TermStats, self._part("term_stats"))

    @property
    def feeds(self) -> FeedStore:
        return cast(FeedStore, self._part("feeds"))

    def drop_index(self) -> None:
        """Forget the passage index and the finder that searches it: both are made again when next used."""
        with self.lock:
            self._made.pop("index", None)
            self._made.pop("finder", None)

    def _load_index(self) -> PassageVectors:
        """The passage index (`open_passage_index`). A stale one is rebuilt from the store's passages,
        and saved only by a thread holding the writer lock: any other rebuilds FAISS in memory, or
        while a writer is busy opens the files it is about to bring up to date (see `PassageIndex.load`;
        pgvector's readers use the shared table as the writer left it)."""
        settings, store = self.settings, self.store
        stored = store.get_setting("model")
        if stored is not None and stored != self.model_name:
            raise OperatorError(
                f"the data in {self.locks.where} was embedded with {stored!r}, "
                f"not {self.model_name!r}: "
                "set NEWSBOT_MODEL back, or run `newsbot reindex` to re-embed everything with the new model."
            )
        dim = int(store.get_setting("dim") or self.embedder.dim)
        index = open_passage_index(settings, store, self.model_name, dim)
        writer = self.locks.holds_writer()
        index.load(
            store.count("passages"),
            lambda every: stored_passage_chunks(store, dim, settings.passage_title_weight, every),
            generation=store.generation(),
            persist=writer,
            behind_ok=not writer and self.locks.writer_busy(),
        )
        return index

    def _finder(self) -> CandidateFinder:
        return CandidateFinder(
            self.store,
            self.index,
            self.term_stats,
            dense_candidates=self.settings.dense_candidates,
            bm25_candidates=self.settings.bm25_candidates,
        )

    def index_to_write(self) -> PassageVectors:
        """The index a writer changes (holding the writer lock): SQLite's generation's, and saved. One
        loaded without the lock may be another writer's files as they were, or a rebuild in memory: it
        is reloaded (rebuilt and saved, if the files are stale) or saved here; an empty one is left to
        the writer's next save, as rebuilding it costs a reader nothing."""
        with self.lock:
            index = self.index
            if index.generation != self.store.generation():
                self.drop_index()
                index = self.index
        if index.count and not index.saved:
            index.save(index.generation)
        return index

    def refresh(self) -> None:
        """Follow what another process (`newsbot ingest` beside `newsbot serve`) committed: once the
        writer has saved the index at the store's generation (FAISS's files; pgvector's table, whose
        vectors every process already reads), it is loaded again. Cheap (two small reads), and done at
        most every ``refresh_seconds``. The replica's parts questions read follow the replica."""
        if self._replica is not None:
            self._replica.refresh()
        now = time.monotonic()
        if now < self._next_refresh or not self.has_index:
            return
        self._next_refresh = now + self.settings.refresh_seconds
        generation = self.store.generation()
        if generation == self.index.generation or generation != self.index.saved_generation:
            return  # current, or the writer has committed but not yet saved its index: next time
        self.drop_index()
        log.info("passage index reloaded: generation %s from another process", generation)
