"""What changes the news: ingest, forget, reindex, one at a time (the ingest lock, and across processes
the store's writer lock, `Parts.locks`), with questions kept waiting only while a chunk is written, not
embedded."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from index.core.errors import EngineError, NotFoundError
from index.core.models import ArticleIn, InputProblem
from index.core.settings import Settings
from index.engine.parts import Parts
from index.reading.ingest import IndexChange, Ingestor, IngestReport, reembed, stored_article
from index.storage.interface import PassageVectors


def _in_scope(item: ArticleIn | InputProblem, scope: str) -> ArticleIn | InputProblem:
    if isinstance(item, ArticleIn):
        item.scope = scope
    return item


class Writes:
    """The engine's writes. `close` waits for one in progress, and refuses any after it."""

    def __init__(self, settings: Settings, parts: Parts) -> None:
        self.settings = settings
        self.parts = parts
        self._ingest_lock = threading.Lock()  # two ingests must not both decide an article is new
        self.closed = False

    def close(self) -> None:
        """Waits for an ingest in progress (a feed poll runs one on a thread of its own), so that the
        store is never closed under it; ingests after this are refused."""
        with self._ingest_lock:
            self.closed = True
            self.parts.close()

    def ingest(
        self,
        items: Iterable[ArticleIn | InputProblem],
        progress: bool = False,
        *,
        scope: str | None = None,
        split_workers: int = 1,
    ) -> IngestReport:
        """See `Engine.ingest`."""
        if scope is not None:
            items = (_in_scope(item, scope) for item in items)
        parts = self.parts
        with self._ingest_lock, parts.locks.writer():
            if self.closed:
                raise EngineError("newsbot is shutting down: nothing more can be ingested now")
            index = parts.index_to_write()  # another process may have written since: add to its index
            with parts.lock:
                if parts.store.get_setting("model") is None:
                    parts.store.set_setting("model", parts.model_name)
                    parts.store.set_setting("dim", str(parts.embedder.dim))
            # On PostgreSQL a load into an empty database writes its postings and builds HNSW at its end.
            with parts.store.loading(), index.loading():
                report = self._ingestor(index).ingest(items, progress=progress, split_workers=split_workers)
            parts.store.settle(report.sentences)
            return report

    def _ingestor(self, index: PassageVectors) -> Ingestor:
        """The pipeline that stores articles into the store and ``index``, shaped by the settings."""
        s = self.settings
        return Ingestor(
            self.parts.store,
            index,
            self.parts.embedder,
            write_lock=self.parts.lock,
            passage_size=s.passage_sentences,
            passage_stride=s.passage_stride,
            title_weight=s.passage_title_weight,
            copy_overlap=s.copy_overlap,
        )

    def reindex(self, progress: bool = False) -> int:
        """Re-embed every stored sentence with the configured model and rebuild the FAISS index."""
        parts = self.parts
        parts.locks.refuse_while_serving("re-embedding everything")
        with self._ingest_lock, parts.locks.writer(), parts.lock:
            done = reembed(parts.store, parts.embedder, progress)
            parts.drop_index()
            parts.index_to_write()  # rebuilt from the new vectors and saved now, while this is the writer
            return done

    def forget(self, ref: str, scope: str | None = None) -> str:
        """See `Engine.forget`."""
        store = self.parts.store
        with self._ingest_lock, self.parts.locks.writer():
            if self.closed:
                raise EngineError("newsbot is shutting down: nothing can be forgotten now")
            article = store.article_in_scope(ref.strip(), scope)
            if article is None:
                where = "shared news" if scope is None else f"server {scope}'s own news"
                raise NotFoundError(f"no article in {where} has the id or URL {ref.strip()[:200]!r}")
            index = self.parts.index_to_write()
            copies = store.copies_of([article["pk"]])
            ingestor = self._ingestor(index) if copies else None  # the model loads before the write
            # Questions wait on the parts' lock while the copies are embedded: a story has a few at most.
            with self.parts.lock, store.transaction():
                removed = store.delete_articles([*(c["pk"] for c in copies), article["pk"]])
                changes: list[IndexChange] = []
                if ingestor is not None:
                    report, changes = ingestor.ingest_uncommitted(stored_article(c) for c in copies)
                    if report.problems:
                        raise EngineError(
                            f"{article['id']} was not forgotten: its wire copies could not all be kept ("
                            + "; ".join(f"{p.origin}: {p.message}" for p in report.problems)
                            + "); forget those copies first, by the ids named, then it"
                        )
                generation = store.bump_generation()
            # As for an ingest: FAISS follows SQLite only once it has committed.
            with self.parts.lock:
                index.remove(removed)
                for change in changes:
                    change.apply(index)
                index.save(generation=generation)
        return str(article["title"])
