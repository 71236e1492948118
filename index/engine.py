"""The engine's one front door: ingest, ask, search, stats. Front ends (CLI, Discord) use only this."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from index.core.errors import EngineError, OperatorError, QuestionError
from index.core.models import ArticleIn, ArticleRef, InputProblem, scope_label
from index.core.settings import Settings
from index.news.annotations import annotate
from index.news.recency import newest_day, prefer, time_cue
from index.news.stories import Stories
from index.reading.feeds import FeedStore, PollReport, poll_feeds
from index.reading.fetch import Fetcher, FetchError
from index.reading.ingest import (
    IndexChange,
    Ingestor,
    IngestReport,
    reembed,
    stored_article,
    stored_passage_chunks,
)
from index.reading.readers import read_paths
from index.search.answer import (
    REFUSAL_TERMS,
    Answer,
    AskResult,
    Ranked,
    build_answer,
    confidence,
    rank_sentences,
    refusal_evidence,
)
from index.search.candidates import CandidateFinder, Candidates, Query
from index.search.cues import topic
from index.search.evidence import FEATURES, Evidence, weigh
from index.search.rerank import Reranked, Reranker, create_reranker, rerank
from index.search.termstats import TermStats
from index.storage import locks
from index.storage.embed import BUNDLED_MODEL, Embedder, create_embedder
from index.storage.store import SCHEMA_VERSION, Filters, Store, published_day
from index.storage.vectors import PassageIndex


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0  # how often a serving engine looks for another process's writes


def _in_scope(item: ArticleIn | InputProblem, scope: str) -> ArticleIn | InputProblem:
    if isinstance(item, ArticleIn):
        item.scope = scope
    return item


def _attributed(answer: Answer, candidates: Candidates, position: int) -> Answer:
    """The answer citing its article with that article's scope and upload attribution."""
    answer.article = answer.article.attributed(
        candidates.articles[candidates.sentences[position]["article_pk"]]
    )
    return answer


def _saved_generation(index: PassageIndex) -> int | None:
    """The generation the index files on disk were saved at (None if unreadable)."""
    try:
        return json.loads(index.manifest_path.read_text()).get("generation")
    except (OSError, ValueError):
        return None


def _open_store(data_dir: Path, db_path: Path) -> Store:
    """The store, or an `EngineError` saying what is wrong with the data dir (a traceback otherwise)."""
    where = "point --data-dir (or NEWSBOT_DATA_DIR) at a folder"
    if data_dir.exists() and not data_dir.is_dir():
        raise EngineError(f"the data dir {data_dir} is a file, not a folder: {where}")
    try:
        return Store(db_path)
    except OSError as exc:
        raise EngineError(f"cannot use {data_dir} as the data dir ({exc.strerror or exc}): {where}") from exc
    except sqlite3.DatabaseError as exc:
        raise EngineError(f"{db_path} is not a newsbot database ({exc}): {where} of its own") from exc


@dataclass
class SearchHit:
    article: ArticleRef
    score: float
    sentence: str
    passage: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "article": self.article.to_dict(),
            "score": round(self.score, 4),
            "sentence": self.sentence,
            "passage": self.passage,
        }


class Engine:
    """Owns the store, the passage index and the model; loads the model only when first needed."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, reranker: Reranker | None = None
    ) -> None:
        refusal = set(settings.refusal_weights) | set(settings.first_stage_refusal_weights)
        unknown = sorted((set(settings.weights) - set(FEATURES)) | (refusal - set(REFUSAL_TERMS)))
        if unknown:  # a renamed or misspelt feature would otherwise weigh nothing, silently
            raise EngineError(
                f"NEWSBOT_WEIGHTS / NEWSBOT_REFUSAL_WEIGHTS name unknown features: {', '.join(unknown)}; "
                f"the features are {', '.join(FEATURES)} (and, for refusal, rerank)"
            )
        self.settings = settings
        self.store = _open_store(settings.data_dir, settings.db_path)
        if not self.store.upgrade():
            version = self.store.get_setting("schema_version")
            self.store.close()
            raise EngineError(
                f"{settings.data_dir} was made by another version of newsbot (schema {version}; this one "
                f"reads {SCHEMA_VERSION} and upgrades 2 in place): run that version's newsbot on it, or "
                "move it aside and ingest the articles again into a new data dir."
            )
        self.model_name = settings.model or BUNDLED_MODEL
        if embedder is not None:
            self.embedder = embedder
        if reranker is not None:
            self.reranker = reranker
        self._lock = threading.RLock()  # the lazily made parts; an ingest's chunk write; reindex
        self._ingest_lock = threading.Lock()  # two ingests must not both decide an article is new
        self._closed = False
        self._next_refresh = 0.0

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Waits for an ingest in progress (a feed poll runs one on a thread of its own), so that the
        store is never closed under it; ingests after this are refused."""
        with self._ingest_lock:
            self._closed = True
            self.store.close()

    @cached_property
    def embedder(self) -> Embedder:
        return create_embedder(self.settings)

    @cached_property
    def index(self) -> PassageIndex:
        """The passage index. Stale files are rebuilt from SQLite, and saved only by a thread holding the
        writer lock: any other rebuilds in memory, or while a writer is busy opens the files it is
        about to bring up to date (see `PassageIndex.load`)."""
        stored = self.store.get_setting("model")
        if stored is not None and stored != self.model_name:
            raise OperatorError(
                f"the data in {self.settings.data_dir} was embedded with {stored!r}, "
                f"not {self.model_name!r}: "
                "set NEWSBOT_MODEL back, or run `newsbot reindex` to re-embed everything with the new model."
            )
        dim = int(self.store.get_setting("dim") or self.embedder.dim)
        index = PassageIndex(
            self.settings.faiss_path,
            self.model_name,
            dim,
            kind=self.settings.vector_index,
            threshold=self.settings.ann_threshold,
        )
        writer = locks.holds_writer(self.settings.data_dir)
        index.load(
            self.store.count("passages"),
            lambda every: stored_passage_chunks(self.store, dim, self.settings.passage_title_weight, every),
            generation=self.store.generation(),
            persist=writer,
            behind_ok=not writer and locks.writer_busy(self.settings.data_dir),
        )
        return index

    def _index_to_write(self) -> PassageIndex:
        """The index a writer changes (holding the writer lock): SQLite's generation's, and saved. One
        loaded without the lock may be another writer's files as they were, or a rebuild in memory: it
        is reloaded (rebuilt and saved, if the files are stale) or saved here; an empty one is left to
        the writer's next save, as rebuilding it costs a reader nothing."""
        with self._lock:
            index = self.index
            if index.generation != self.store.generation():
                for stale in ("index", "finder"):
                    self.__dict__.pop(stale, None)
                index = self.index
        if index.count and not index.saved:
            index.save(index.generation)
        return index

    def refresh(self) -> None:
        """Follow what another process (`newsbot ingest` beside `newsbot serve`) committed: once the
        index files on disk are of SQLite's generation, they replace the index in memory. Cheap (two
        small reads), and done at most every few seconds."""
        now = time.monotonic()
        if now < self._next_refresh or "index" not in self.__dict__:
            return
        self._next_refresh = now + REFRESH_SECONDS
        generation = self.store.generation()
        if generation == self.index.generation or generation != _saved_generation(self.index):
            return  # current, or the writer has committed but not yet saved its index: next time
        with self._lock:
            for stale in ("index", "finder"):
                self.__dict__.pop(stale, None)
        log.info("passage index reloaded: generation %s from another process", generation)

    # -- ingest ----------------------------------------------------------------------------------

    def ingest(
        self,
        items: Iterable[ArticleIn | InputProblem],
        progress: bool = False,
        *,
        scope: str | None = None,
        split_workers: int = 1,
    ) -> IngestReport:
        """Ingests run one at a time; questions wait only while a chunk is written, not embedded.

        ``scope`` (a Discord server's id) puts every article in that server's own news; without it each
        keeps its own `ArticleIn.scope` (None, shared news, as the readers make them). ``split_workers``
        > 1 splits big inputs in that many processes: only for a caller whose main module is guarded
        (see `index.reading.presplit`)."""
        if scope is not None:
            items = (_in_scope(item, scope) for item in items)
        with self._ingest_lock, locks.writer(self.settings.data_dir):
            if self._closed:
                raise EngineError("newsbot is shutting down: nothing more can be ingested now")
            index = self._index_to_write()  # another process may have written since: add to its index
            with self._lock:
                if self.store.get_setting("model") is None:
                    self.store.set_setting("model", self.model_name)
                    self.store.set_setting("dim", str(self.embedder.dim))
            return self._ingestor(index).ingest(items, progress=progress, split_workers=split_workers)

    def _ingestor(self, index: PassageIndex) -> Ingestor:
        """The pipeline that stores articles into the store and ``index``, shaped by the settings."""
        return Ingestor(
            self.store,
            index,
            self.embedder,
            write_lock=self._lock,
            passage_size=self.settings.passage_sentences,
            passage_stride=self.settings.passage_stride,
            title_weight=self.settings.passage_title_weight,
            copy_overlap=self.settings.copy_overlap,
        )

    def reindex(self, progress: bool = False) -> int:
        """Re-embed every stored sentence with the configured model and rebuild the FAISS index."""
        locks.refuse_while_serving(self.settings.data_dir, "re-embedding everything")
        with self._ingest_lock, locks.writer(self.settings.data_dir), self._lock:
            done = reembed(self.store, self.embedder, progress)
            for stale in ("index", "finder"):
                self.__dict__.pop(stale, None)
            self._index_to_write()  # rebuilt from the new vectors and saved now, while this is the writer
            return done

    def ingest_paths(
        self, paths: Sequence[str | Path], progress: bool = False, *, scope: str | None = None
    ) -> IngestReport:
        return self.ingest(read_paths(paths), progress=progress, scope=scope)

    def ingest_sources(
        self,
        sources: Sequence[str],
        progress: bool = False,
        *,
        scope: str | None = None,
        split_workers: int = 1,
    ) -> IngestReport:
        """Files, folders and http(s) URLs alike: URLs are fetched, the rest read from disk."""
        urls = [s for s in sources if is_url(s)]
        fetched = asyncio.run(self.fetch_articles(urls)) if urls else []
        items = chain(read_paths([s for s in sources if not is_url(s)]), fetched)
        return self.ingest(items, progress, scope=scope, split_workers=split_workers)

    def forget(self, ref: str, scope: str | None = None) -> str:
        """Delete the article of exactly ``scope`` whose id or URL is ``ref``, with its sentences,
        passages and vectors; returns its title. Its wire copies from other outlets are kept: they are
        stored again, as stories of their own or copies of another story, in the delete's transaction,
        so that a failure part way (a crash, a full disk) leaves the story and its copies as they were."""
        with self._ingest_lock, locks.writer(self.settings.data_dir):
            if self._closed:
                raise EngineError("newsbot is shutting down: nothing can be forgotten now")
            article = self.store.article_in_scope(ref.strip(), scope)
            if article is None:
                where = "shared news" if scope is None else f"server {scope}'s own news"
                raise EngineError(
                    f"no article in {where} has the id or URL {ref.strip()[:200]!r}: "
                    "check it (ids are shown when articles are added, and by `newsbot ask --json`)"
                )
            index = self._index_to_write()
            copies = self.store.copies_of([article["pk"]])
            ingestor = self._ingestor(index) if copies else None  # the model loads before the write
            # Questions wait on `_lock` while the copies are embedded: a story has a few at most.
            with self._lock, self.store.transaction():
                removed = self.store.delete_articles([*(c["pk"] for c in copies), article["pk"]])
                changes: list[IndexChange] = []
                if ingestor is not None:
                    report, changes = ingestor.ingest_uncommitted(stored_article(c) for c in copies)
                    if report.problems:
                        raise EngineError(
                            f"{article['id']} was not forgotten: its wire copies could not all be kept ("
                            + "; ".join(f"{p.origin}: {p.message}" for p in report.problems)
                            + "); forget those copies first, by the ids named, then it"
                        )
                generation = self.store.bump_generation()
            # As for an ingest: FAISS follows SQLite only once it has committed.
            with self._lock:
                index.remove(removed)
                for change in changes:
                    change.apply(index)
                index.save(generation=generation)
        return str(article["title"])

    async def fetch_articles(self, urls: Sequence[str]) -> list[ArticleIn | InputProblem]:
        """Fetch and extract each URL through the one guarded fetcher; failures become problems."""
        async with Fetcher(self.settings) as fetcher:
            outcomes = await asyncio.gather(*(fetcher.fetch_article(u) for u in urls), return_exceptions=True)
        items: list[ArticleIn | InputProblem] = []
        for url, outcome in zip(urls, outcomes, strict=True):
            if isinstance(outcome, FetchError):
                items.append(InputProblem(url, str(outcome)))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                items.append(outcome)
        return items

    @cached_property
    def feeds(self) -> FeedStore:
        return FeedStore(self.store.db, lock=self.store.lock)

    async def poll_feeds(
        self, force: bool = False, *, scope: str | None = None, every_scope: bool = True
    ) -> PollReport:
        """One pass over every feed (or, ``every_scope`` false, those ``scope`` follows); new items are
        ingested into the scopes that follow them as they come."""
        async with Fetcher(self.settings) as fetcher:
            return await poll_feeds(
                self.feeds, fetcher, self.ingest, force=force, scope=scope, every_scope=every_scope
            )

    # -- questions -------------------------------------------------------------------------------

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> AskResult:
        return self.ask_many([question], k, filters)[0]

    def ask_many(
        self, questions: Sequence[str], k: int | None = None, filters: Filters | None = None
    ) -> list[AskResult]:
        """Answer questions in order; the model embeds them all in one batch."""
        k = k or self.settings.top_k
        weights, threshold = self.refusal_rule
        results = []
        self.refresh()
        started = time.perf_counter()
        queries = self.queries([self._check(q) for q in questions])
        embedded = time.perf_counter() - started
        for query in queries:
            timings = {"embed": embedded}
            candidates, reranked, ranked, stories = self.rank(query, filters, k, timings)
            answers = [_attributed(build_answer(candidates, r), candidates, r.position) for r in ranked]
            # Stage 4: whether to vouch for the best quote is a weighing of its own evidence.
            sure = (
                confidence(refusal_evidence(candidates, reranked.model, ranked[0].position), weights)
                if ranked
                else 0.0
            )
            answered = bool(answers) and sure >= threshold
            result = AskResult(query.text, answered, answers, sure, timings=timings)
            pks = [candidates.sentences[r.position]["article_pk"] for r in ranked]
            annotate(result, pks, candidates, stories, self.store)
            results.append(result)
        return results

    def rank(
        self, query: Query, filters: Filters | None, k: int, timings: dict[str, float] | None = None
    ) -> tuple[Candidates, Reranked, list[Ranked], Stories]:
        """A question's stages up to the choice of quotes: candidates, evidence, rerank, ranking, and
        for a question with a time cue ("the latest", "in 2023") the preference it asks for; with the
        story relation over the candidates that the preference and the annotations share. The seconds
        the first stage and the rerank took go into ``timings``."""
        started = time.perf_counter()
        candidates, first = self.first_stage(query, filters, self.settings.max_stories)
        found = time.perf_counter()
        reranked = self._reranked(query, candidates, first)
        if timings is not None:
            timings.update(candidates=found - started, rerank=time.perf_counter() - found)
        cue = time_cue(query.text, lambda: newest_day(self.store, filters))
        every = len(candidates.sentences) if cue else k  # the preference may reach past the best k
        ranked = rank_sentences(candidates, reranked.scores, every, self.settings.duplicate_similarity)
        stories = Stories(candidates, self.term_stats)
        if cue:
            ranked = prefer(cue, ranked, candidates, stories, k)
        return candidates, reranked, ranked, stories

    @property
    def min_answer_score(self) -> float:
        """The confidence an answer needs on the path in use (front ends show confidence against it)."""
        return self.refusal_rule[1]

    @property
    def refusal_rule(self) -> tuple[dict[str, float], float]:
        """The refusal weights and threshold for the path in use: they were fit with or without the
        reranker, whose logit is the strongest evidence when it is on."""
        s = self.settings
        if self.reranker is None:
            return s.first_stage_refusal_weights, s.first_stage_min_answer_score
        return s.refusal_weights, s.min_answer_score

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        """Stories ranked by their best sentence, each shown with the passage around it."""
        k = k or self.settings.top_k
        self.refresh()
        candidates, scores = self.first_stage(
            self.queries([self._check(query)])[0], filters, max(k, self.settings.max_stories)
        )
        best: dict[int, int] = {}
        for position in scores.argsort()[::-1]:
            if candidates.quotable[position]:  # a story is shown by its best quotable sentence
                best.setdefault(candidates.sentences[position]["article_pk"], int(position))
        hits = []
        for position in list(best.values())[:k]:
            ranked = Ranked(position, float(scores[position]))
            answer = _attributed(build_answer(candidates, ranked, context_sentences=1), candidates, position)
            hits.append(SearchHit(answer.article, answer.score, answer.sentence, answer.context))
        return hits

    def queries(self, texts: Sequence[str]) -> list[Query]:
        """Questions with their embeddings and their topics' (see `cues.topic`), in one model batch; a
        text that is its own topic (a search like "ferry strike") is embedded once."""
        topics = [topic(t) for t in texts]
        distinct = list(dict.fromkeys([*texts, *topics]))
        vectors = dict(zip(distinct, self.embedder.encode(distinct), strict=True))
        return [Query(t, vectors[t], vectors[c]) for t, c in zip(texts, topics, strict=True)]

    def first_stage(
        self, query: Query, filters: Filters | None, stories: int
    ) -> tuple[Candidates, np.ndarray]:
        """Stages 1 and 2: the sentences of the best `stories` stories, their evidence, and the first
        ranking's weighted scores."""
        with self._lock:  # only to take the parts, made once (and swapped by reindex) under it
            finder, evidence = self.finder, self.evidence
        # No lock past here: the store reads on this thread's own connection and the passage index
        # guards itself, so questions run in parallel, beside an ingest.
        candidates = finder.find(query, filters or Filters(), stories)
        candidates.features = evidence.describe(query, candidates)
        return candidates, weigh(candidates, self.settings.weights)

    def _reranked(self, query: Query, candidates: Candidates, first: np.ndarray) -> Reranked:
        """Stage 3: the reranker re-orders the first stage's best, when it is turned on."""
        if self.reranker is None:
            return Reranked(first, np.full(len(first), np.nan, np.float32))
        top, weight = self.settings.rerank_candidates, self.settings.rerank_first_weight
        return rerank(
            self.reranker,
            query.text,
            candidates,
            first,
            self.reranker.top if top is None else top,
            self.reranker.first_weight if weight is None else weight,
        )

    @cached_property
    def finder(self) -> CandidateFinder:
        return CandidateFinder(
            self.store,
            self.index,
            self.term_stats,
            dense_candidates=self.settings.dense_candidates,
            bm25_candidates=self.settings.bm25_candidates,
        )

    @cached_property
    def evidence(self) -> Evidence:
        return Evidence(self.store, self.term_stats, context_title_weight=self.settings.context_title_weight)

    @cached_property
    def term_stats(self) -> TermStats:
        return TermStats(self.store)

    @cached_property
    def reranker(self) -> Reranker | None:
        return create_reranker(self.settings.rerank, self.settings.reranker)

    def _check(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise QuestionError('the question is empty: ask something, e.g. "who warned ships?"')
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"the question is {len(question)} characters long; keep it under {limit}")
        return question

    # -- what the engine knows -------------------------------------------------------------------

    def outlets(self, scope: str | None = None) -> list[str]:
        """The outlets of shared news and ``scope``'s own, most articles first."""
        where, params = Filters(scope=scope).sql()
        rows = self.store.query(
            f"SELECT a.source FROM articles a WHERE a.source IS NOT NULL AND {where} "
            "GROUP BY a.source ORDER BY count(*) DESC",
            params,
        )
        return [r["source"] for r in rows]

    def stats(self, scope: str | None = None) -> dict[str, Any]:
        """What shared news and ``scope``'s own hold (the index's own figures are the whole data dir's)."""
        store = self.store
        where, params = Filters(scope=scope).sql()
        dates = store.query(
            f"SELECT min({published_day()}) AS first, max({published_day()}) AS last FROM articles a "
            f"WHERE {where}",
            params,
        )[0]
        outlets = store.query(
            "SELECT coalesce(source, '(unknown)') AS source, count(*) AS articles FROM articles a "
            f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC",
            params,
        )

        def count(table: str) -> int:
            rows = (
                "articles a" if table == "articles" else f"{table} t JOIN articles a ON a.pk = t.article_pk"
            )
            return int(store.query(f"SELECT count(*) AS n FROM {rows} WHERE {where}", params)[0]["n"])

        return {
            "data_dir": str(self.settings.data_dir),
            "scope": scope_label(scope),
            "articles": count("articles"),
            "passages": count("passages"),
            "sentences": count("sentences"),
            "outlets": outlets,
            "published": {"first": dates["first"], "last": dates["last"]},
            "last_ingest": store.last_ingest(scope),
            "index": {
                "model": store.get_setting("model"),
                "dim": int(store.get_setting("dim") or 0) or None,
                "file": str(self.settings.faiss_path),
                "file_bytes": self.settings.faiss_path.stat().st_size
                if self.settings.faiss_path.exists()
                else 0,
                "vectors": self._vectors(),
            },
        }

    def _vectors(self) -> int | None:
        """What FAISS holds, which may differ from the passages SQLite holds (None: the index cannot be
        used with this model). Nothing ingested yet: 0, without loading the model for its dimension."""
        if "index" not in self.__dict__ and self.store.get_setting("dim") is None:
            return 0
        try:
            return self.index.count
        except EngineError:
            return None
