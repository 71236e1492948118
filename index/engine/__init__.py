"""The engine's one front door: ingest, ask, search, stats. Front ends (CLI, Discord) use only this.

`Engine` is a facade over parts with one job each: `Parts` (the store and what is made from it on
first use), `QuestionPath` (questions in, answers out), `Writes` (ingest, forget, reindex, one at a
time) and `holdings` (what the data dir holds)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from index.core.errors import EngineError
from index.core.models import ArticleIn, InputProblem
from index.core.settings import Settings
from index.engine import holdings
from index.engine.parts import Parts, open_store
from index.engine.questions import QuestionPath, SearchHit, check_weights
from index.engine.writes import Writes
from index.reading.feeds import FeedStore, PollReport, poll_feeds
from index.reading.fetch import Fetcher, FetchError
from index.reading.ingest import IngestReport
from index.reading.readers import read_paths
from index.search.answer import AskResult
from index.search.candidates import Candidates
from index.search.query import Query
from index.search.rerank import Reranker, create_reranker
from index.storage.embed import Embedder, create_embedder
from index.storage.interface import PassageVectors
from index.storage.store import Filters, Store

__all__ = ["Engine", "SearchHit", "is_url"]


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


class Engine:
    """Owns the store, the passage index and the model; loads the model only when first needed."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, reranker: Reranker | None = None
    ) -> None:
        check_weights(settings)
        self.settings = settings
        # The factories are looked up when first used, so that a test may replace them in this module.
        self.parts = Parts(
            settings,
            open_store(settings),
            lambda: create_embedder(settings),
            lambda: create_reranker(settings.rerank, settings.reranker, settings.rerank_precision),
        )
        if embedder is not None:
            self.parts.embedder = embedder
        if reranker is not None:
            self.parts.reranker = reranker
        try:
            self.questions = QuestionPath(settings, self.parts)  # opens NEWSBOT_DATABASE_READ_URL's replica
        except EngineError:
            self.parts.close()  # the store opened above: no engine holds it
            raise
        self.writes = Writes(settings, self.parts)

    # -- parts -----------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self.parts.store

    @property
    def model_name(self) -> str:
        return self.parts.model_name

    @property
    def embedder(self) -> Embedder:
        return self.parts.embedder

    @embedder.setter
    def embedder(self, embedder: Embedder) -> None:
        self.parts.embedder = embedder

    @property
    def reranker(self) -> Reranker | None:
        return self.parts.reranker

    @property
    def index(self) -> PassageVectors:
        return self.parts.index

    @property
    def feeds(self) -> FeedStore:
        return self.parts.feeds

    def refresh(self) -> None:
        """See `Parts.refresh`: follow another process's writes."""
        self.parts.refresh()

    def serving(self) -> AbstractContextManager[None]:
        """Held while a bot serves from this engine's store, on whichever machine: `reindex` refuses
        meanwhile, in every process sharing the store (`index.storage.locks`)."""
        return self.parts.locks.serving()

    @property
    def closed(self) -> bool:
        return self.writes.closed

    def close(self) -> None:
        """Waits for an ingest in progress, then closes the store; ingests after this are refused."""
        self.writes.close()

    # -- writes ----------------------------------------------------------------------------------

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
        return self.writes.ingest(items, progress, scope=scope, split_workers=split_workers)

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
        return self.writes.forget(ref, scope)

    def reindex(self, progress: bool = False) -> int:
        """Re-embed every stored sentence with the configured model and rebuild the FAISS index."""
        return self.writes.reindex(progress)

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

    async def poll_feeds(
        self,
        force: bool = False,
        *,
        scope: str | None = None,
        every_scope: bool = True,
        every: timedelta | None = None,
    ) -> PollReport:
        """One pass over every feed (or, ``every_scope`` false, those ``scope`` follows); new items are
        ingested into the scopes that follow them as they come. A poll run ``every`` so often leaves
        the feeds another process polled less than half of that ago (see `poll_feeds`)."""
        async with Fetcher(self.settings) as fetcher:
            return await poll_feeds(
                self.feeds,
                fetcher,
                self.ingest,
                force=force,
                scope=scope,
                every_scope=every_scope,
                every=every,
            )

    # -- questions -------------------------------------------------------------------------------

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None) -> AskResult:
        return self.ask_many([question], k, filters)[0]

    def ask_many(
        self, questions: Sequence[str], k: int | None = None, filters: Filters | None = None
    ) -> list[AskResult]:
        """Answer questions in order; the model embeds them all in one batch."""
        return self.questions.ask_many(questions, k, filters)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        """Stories ranked by their best sentence, each shown with the passage around it."""
        return self.questions.search(query, k, filters)

    def queries(self, texts: Sequence[str]) -> list[Query]:
        """See `QuestionPath.queries` (for the benchmarks and tools that run the stages themselves)."""
        return self.questions.queries(texts)

    def first_stage(
        self, query: Query, filters: Filters | None, stories: int
    ) -> tuple[Candidates, np.ndarray]:
        """See `QuestionPath.first_stage`."""
        return self.questions.first_stage(query, filters, stories)

    @property
    def min_answer_score(self) -> float:
        """The confidence an answer needs on the path in use (front ends show confidence against it)."""
        return self.questions.refusal_rule[1]

    # -- what the engine knows -------------------------------------------------------------------

    def outlets(self, scope: str | None = None) -> list[str]:
        """The outlets of shared news and ``scope``'s own, most articles first."""
        return holdings.outlets(self.store, scope)

    def stats(self, scope: str | None = None) -> dict[str, Any]:
        """What shared news and ``scope``'s own hold (the index's own figures are the whole data dir's)."""
        return holdings.stats(self.parts, scope)
