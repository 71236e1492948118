"""Turning articles into stored sentences, passages and vectors: idempotent, batched, all-or-nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from itertools import islice
from pathlib import PurePath
from typing import Any

import numpy as np
from tqdm import tqdm

from index.core.dates import is_iso_date, now_iso
from index.core.limits import MAX_ARTICLE_CHARS, MAX_TITLE_CHARS
from index.core.models import ArticleIn, ArticleKey, InputProblem
from index.reading.clean import shorten
from index.reading.presplit import with_spans
from index.reading.readers import set_published
from index.reading.sentences import split_sentences
from index.storage.embed import Embedder
from index.storage.interface import NewsStore, PassageVectors
from index.storage.store import from_blobs, to_blob

log = logging.getLogger(__name__)

CHUNK_ARTICLES = 256  # articles embedded per model call and written per transaction
LOOKAHEAD = 256  # articles read ahead, so that each look-up in the store is one statement for them all
# A long ingest writes the index files at most this often, and at its end: a chunk's vectors are
# searchable in this process at once, and another process follows the files within seconds.
SAVE_SECONDS = 5.0
REBUILD_ARTICLES = 250  # articles per chunk of an index rebuild: ~2,500 passage vectors, ~4 MB
TEXT_ID = "text-"  # ids made from an article's text: it came without an id, a URL or a file


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    copies: int = 0
    skipped: int = 0
    sentences: int = 0
    seconds: float = 0.0
    problems: list[InputProblem] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # of the articles stored, in order

    @property
    def stored(self) -> int:
        return self.new + self.updated + self.copies

    def to_dict(self) -> dict:
        return {
            "new": self.new,
            "updated": self.updated,
            "copies": self.copies,
            "skipped": self.skipped,
            "sentences": self.sentences,
            "seconds": round(self.seconds, 2),
            "problems": [{"origin": p.origin, "message": p.message} for p in self.problems],
            "article_ids": self.article_ids,
            "titles": self.titles,
        }


@dataclass
class IndexChange:
    """One chunk's write as the passage index must follow it once SQLite has committed it: the
    passages it removed, then those it added (chunks are applied in order: a later one may remove
    what an earlier one added)."""

    removed: list[int]
    added_ids: np.ndarray
    added_vecs: np.ndarray | None

    def apply(self, index: PassageVectors) -> None:
        index.remove(self.removed)
        if self.added_vecs is not None:
            index.add(self.added_ids, self.added_vecs)


@dataclass
class _Read:
    """An article read and split, and what the store held of it when last looked up (`_look_up`)."""

    article: ArticleIn
    digest: str
    spans: list[tuple[int, int]]
    norms: list[str]
    found: dict[str, Any] | None = None  # the stored article it is (`NewsStore.find_existing_many`)
    similar: list[dict] = field(default_factory=list)  # stories it may repeat, when it may (`_may_copy`)
    looked_at: int = -1  # `Ingestor._stored` when looked up: stale once another chunk is stored


@dataclass
class _Prepared:
    article: ArticleIn
    article_id: str
    content_hash: str
    spans: list[tuple[int, int]]
    norms: list[str]
    replaces: int | None = None  # pk of the stored version this one replaces in place
    copy_of: int | None = None  # pk of the story this is a wire copy of
    keep: list[int] = field(default_factory=list)  # positions of the sentences stored: a copy's own only
    rechecked: bool = False  # a stored copy judged again after its story changed, not a new input


def sentence_norm(sentence: str) -> str:
    """A short key equal for sentences that differ only in case, spacing or punctuation."""
    words = " ".join(re.findall(r"\w+", sentence.lower()))
    return hashlib.blake2b(words.encode(), digest_size=8).hexdigest()


def content_hash(text: str) -> str:
    """Hash of the text with whitespace folded, so re-wrapped copies count as the same text."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def make_id(article: ArticleIn, digest: str) -> str:
    """A stable id for an article that came without one: from its URL, its key (the file it was read
    from) or its outlet and text."""
    if article.url:
        return "url-" + hashlib.sha1(article.url.encode()).hexdigest()[:12]
    if article.key:
        stem = re.sub(r"[^a-z0-9]+", "-", PurePath(article.key).stem.lower()).strip("-") or "file"
        return f"{stem}-{hashlib.sha1(article.key.encode()).hexdigest()[:6]}"
    key = f"{article.source}\n{digest}" if article.source else digest  # wire copies share the text
    return TEXT_ID + hashlib.sha1(key.encode()).hexdigest()[:12]


def passage_windows(n_sentences: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Inclusive (first, last) sentence positions of each passage; the last window reaches the end."""
    if n_sentences <= size:
        return [(0, n_sentences - 1)] if n_sentences else []
    windows = [(start, start + size - 1) for start in range(0, n_sentences - size + 1, stride)]
    if windows[-1][1] < n_sentences - 1:
        windows.append((n_sentences - size, n_sentences - 1))
    return windows


def passage_vectors(
    sentence_vecs: np.ndarray, title_vec: np.ndarray, windows: list[tuple[int, int]], title_weight: float
) -> np.ndarray:
    """A passage's vector: the mean of its sentences' vectors pulled towards the title, unit length.

    Derived from stored vectors so the FAISS index can be rebuilt without the model.
    """
    out = np.stack([sentence_vecs[a : b + 1].mean(axis=0) + title_weight * title_vec for a, b in windows])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


class Ingestor:
    """Writes articles into the store and the passage index, a chunk per transaction.

    The same article again is skipped, a changed one replaced in place (one without id, URL or file is
    recognised by its outlet and nearly the same text), and the same story from another outlet
    (identical or near-identical text) stored as a wire copy of the first one, indexing only the
    sentences of its own. When a story changes, its copies are judged again.
    """

    def __init__(
        self,
        store: NewsStore,
        index: PassageVectors,
        embedder: Embedder,
        *,
        write_lock: AbstractContextManager[object],
        passage_size: int,
        passage_stride: int,
        title_weight: float,
        copy_overlap: float,
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.write_lock = write_lock
        self.passage_size = passage_size
        self.passage_stride = passage_stride
        self.title_weight = title_weight
        self.copy_overlap = copy_overlap
        self._chunk: dict[str, _Prepared] = {}
        self._chunk_norms: set[str] = set()  # every sentence of the chunk: most articles share none
        # The chunk a background write is storing while the next is prepared (`_hand_off`), and its
        # sentences: an article that may depend on it waits for its commit, as for the chunk's own.
        self._writing: dict[str, _Prepared] = {}
        self._writing_norms: set[str] = set()
        self._writer: ThreadPoolExecutor | None = None
        self._written: Future[None] | None = None
        self._unsaved: int | None = None  # the generation the index holds but its files do not yet
        self._saved_at = 0.0
        self._scopes: set[str | None] = set()  # those the ingest stored articles into
        # While the caller's transaction is open around the ingest (`ingest_uncommitted`), the chunks'
        # index changes wait here for its commit; None: each chunk commits, and the index follows it.
        self._uncommitted: list[IndexChange] | None = None
        self._stored = 0  # chunks written so far: a look-up made before the last one is made again

    def ingest(
        self, items: Iterable[ArticleIn | InputProblem], progress: bool = False, split_workers: int = 1
    ) -> IngestReport:
        """A chunk per transaction: what committed stays, and is saved, even when a later chunk fails."""
        try:
            report = self._ingest(items, progress, split_workers)
        finally:
            if self._unsaved is not None:
                self._save()
        if report.stored:
            self.store.set_last_ingest(self._scopes, now_iso())
        return report

    def ingest_uncommitted(self, items: Iterable[ArticleIn]) -> tuple[IngestReport, list[IndexChange]]:
        """Store ``items`` inside the caller's open `NewsStore.transaction`, so that they commit with the
        caller's own writes or not at all (`Engine.forget` storing a story's copies again). Nothing is
        committed here, so the index must not follow yet: its changes are returned, for the caller to
        apply in order once it has committed."""
        changes: list[IndexChange] = []
        self._uncommitted = changes
        try:
            return self._ingest(items, progress=False, split_workers=1), changes
        finally:
            self._uncommitted = None

    def _ingest(
        self, items: Iterable[ArticleIn | InputProblem], progress: bool, split_workers: int
    ) -> IngestReport:
        report = IngestReport()
        started = self._saved_at = time.perf_counter()
        # Inside the caller's transaction every write must run on the caller's thread, its own.
        background = self._uncommitted is None
        with (
            tqdm(unit=" articles", disable=not progress, desc="ingest", leave=False) as bar,
            ThreadPoolExecutor(1, thread_name_prefix="ingest-write")
            if background
            else nullcontext() as writer,
        ):
            self._writer = writer
            split = with_spans(items, split_workers)
            try:
                while group := list(islice(split, LOOKAHEAD)):
                    read = [self._read(item, spans, report) for item, spans in group]
                    ahead = [r for r in read if r is not None]
                    for n, r in enumerate(ahead):
                        if r.looked_at != self._stored:  # a chunk was stored since: look again
                            self._look_up(ahead[n:])
                        prepared = self._prepare(r, report, bar)
                        if prepared is not None:
                            self._hold(prepared)
                        if len(self._chunk) >= CHUNK_ARTICLES:
                            self._hand_off(report, bar)
                self._flush(report, bar)
            finally:
                self._writer = None  # the executor's exit waits for a write still running
        report.seconds = time.perf_counter() - started
        return report

    def _read(
        self, item: ArticleIn | InputProblem, spans: list[tuple[int, int]] | None, report: IngestReport
    ) -> _Read | None:
        """The article with its sentences' keys, or None with the problem reported when it is not one
        to store."""
        if isinstance(item, InputProblem):
            report.problems.append(item)
            return None
        article = item
        origin = article.origin or article.id or article.title
        if not article.text.strip():
            report.problems.append(InputProblem(origin, "empty article: no text to index"))
            return None
        if len(article.text) > MAX_ARTICLE_CHARS:
            report.problems.append(
                InputProblem(
                    origin,
                    f"the article is {len(article.text):,} characters long, over the {MAX_ARTICLE_CHARS:,} "
                    "one article may have; split it into several",
                )
            )
            return None
        article.title = shorten(article.title, MAX_TITLE_CHARS)
        if article.published is not None and not is_iso_date(article.published):
            set_published(article, article.published)  # a date given as text ("last week"): kept in meta
        if not spans:
            report.problems.append(InputProblem(origin, "no sentences found in the article text"))
            return None
        norms = [sentence_norm(article.text[a:b]) for a, b in spans]
        return _Read(article, content_hash(article.text), spans, norms)

    def _look_up(self, reads: list[_Read]) -> None:
        """What the store holds of each of ``reads``: the stored article each is, then the stories
        those that may be copies may repeat; two statements for them all."""
        found = self.store.find_existing_many(
            [ArticleKey(_given_id(r), r.article.url, r.digest, r.article.scope) for r in reads]
        )
        for r, existing in zip(reads, found, strict=True):
            r.found, r.similar, r.looked_at = existing, [], self._stored
        may_copy = [r for r in reads if _may_copy(r.found, r.digest)]
        similar = self.store.near_duplicates_many(
            [(r.norms, r.article.scope) for r in may_copy], self.copy_overlap
        )
        for r, stories in zip(may_copy, similar, strict=True):
            r.similar = stories

    def _prepare(self, r: _Read, report: IngestReport, bar: tqdm) -> _Prepared | None:
        if self._overlaps_pending(r.norms):
            self._flush(report, bar)  # so the story it may copy is in the store to compare with
        prepared = self._resolve(r)
        if prepared is not None and self._pending(prepared):
            self._flush(report, bar)  # the same article is in the batch: store that first, then compare
            prepared = self._resolve(r)
        if prepared is None:
            report.skipped += 1
        return prepared

    def _resolve(self, r: _Read) -> _Prepared | None:
        """What storing ``r`` means given what the store holds: a new story, the replacement of a
        stored version, a wire copy; None when it is stored already."""
        if r.looked_at != self._stored:
            self._look_up([r])
        article, digest, existing = r.article, r.digest, r.found
        prepared = _Prepared(article, _given_id(r), digest, r.spans, r.norms)
        if existing is not None:
            if existing["content_hash"] == digest:
                if existing["by"] != "content_hash" or not _other_outlet(article, existing["source"]):
                    return None
                prepared.copy_of = existing["copy_of"] or existing["pk"]
            else:
                prepared.replaces = existing["pk"]
                prepared.article_id = article.id or existing["id"]
        if _may_copy(existing, digest):
            keyless = existing is None and not (article.id or article.url or article.key)
            self._match_story(prepared, r.similar, may_be_edit=keyless)
        prepared.keep = self._own_sentences(prepared)
        return prepared

    def _pending(self, prepared: _Prepared) -> bool:
        """Whether the batches not yet committed hold the same article (by id, URL or stored version)."""
        url = prepared.article.url
        return any(
            prepared.article_id in batch
            or any(
                (url and other.article.url == url)
                or (prepared.replaces is not None and other.replaces == prepared.replaces)
                for other in batch.values()
            )
            for batch in (self._chunk, self._writing)
        )

    def _recheck(self, row: dict[str, Any]) -> _Prepared:
        """A stored wire copy judged again, its story having changed: a copy of it (or of another
        story) still, with its own sentences worked out anew, or a story of its own now."""
        article = stored_article(row)
        spans = split_sentences(article.text)
        norms = [sentence_norm(article.text[a:b]) for a, b in spans]
        prepared = _Prepared(
            article, row["id"], row["content_hash"], spans, norms, replaces=row["pk"], rechecked=True
        )
        similar = self.store.near_duplicates(norms, self.copy_overlap, article.scope)
        self._match_story(prepared, similar, may_be_edit=False)
        prepared.keep = self._own_sentences(prepared)
        return prepared

    def _hold(self, prepared: _Prepared) -> None:
        """Add ``prepared`` to the chunk to be written."""
        self._chunk[prepared.article_id] = prepared
        self._chunk_norms.update(prepared.norms)

    def _overlaps_pending(self, norms: list[str]) -> bool:
        wanted = set(norms)
        needed = self.copy_overlap * len(wanted)
        return any(
            len(wanted & held) >= needed  # else no one article of the batch shares enough
            and any(len(wanted.intersection(p.norms)) >= needed for p in batch.values())
            for batch, held in ((self._chunk, self._chunk_norms), (self._writing, self._writing_norms))
        )

    def _match_story(self, prepared: _Prepared, similar: list[dict], *, may_be_edit: bool) -> None:
        """Make ``prepared`` a wire copy of the first stored story of ``similar`` (those it nearly
        repeats, `NewsStore.near_duplicates`) from another outlet, or, ``may_be_edit`` (it has no id,
        URL or file to be known by), the replacement of one from its own outlet that was stored the
        same way: an edited version of the same article."""
        article = prepared.article
        for story in similar:
            if _other_outlet(article, story["source"]):
                prepared.copy_of = story["pk"]
                if may_be_edit:  # an edited copy replaces the copy its outlet sent before
                    self._replace_earlier(prepared, self.store.copies_of([story["pk"]]))
                return
            if may_be_edit and _edit_of(article, story):
                self._replace_earlier(prepared, [story])
                return

    @staticmethod
    def _replace_earlier(prepared: _Prepared, stored: list[dict[str, Any]]) -> None:
        """Make ``prepared`` replace the first of ``stored`` that is an earlier version of it."""
        for row in stored:
            if _edit_of(prepared.article, row):
                prepared.replaces, prepared.article_id = row["pk"], row["id"]
                return

    def _own_sentences(self, prepared: _Prepared) -> list[int]:
        """Positions of the sentences to store: all of a story's; those of a copy its story lacks."""
        if prepared.copy_of is None:
            return list(range(len(prepared.spans)))
        printed = self.store.sentence_norms(prepared.copy_of)
        return [i for i, norm in enumerate(prepared.norms) if norm not in printed]

    def _hand_off(self, report: IngestReport, bar: tqdm) -> None:
        """Write the chunk in the background while the next one is prepared: the writer's work (the
        database's, on PostgreSQL) overlaps the reading, splitting and look-ups of the next. One write
        at a time, in order. A chunk that edits a story is written at once, as `_flush` does, since its
        copies are judged again once it is stored."""
        if self._writer is None or any(
            p.replaces is not None and p.copy_of is None for p in self._chunk.values()
        ):
            self._flush(report, bar)
            return
        self._wait()
        self._writing, self._writing_norms = self._chunk, self._chunk_norms
        self._chunk, self._chunk_norms = {}, set()
        self._written = self._writer.submit(self._write_counted, list(self._writing.values()), report, bar)

    def _wait(self) -> None:
        """Until the background write has committed; its error, if it failed, is raised here."""
        written, self._written = self._written, None
        try:
            if written is not None:
                written.result()
                self._stored += 1
        finally:
            self._writing, self._writing_norms = {}, set()

    def _flush(self, report: IngestReport, bar: tqdm) -> None:
        """Write everything not yet committed, and wait for it."""
        self._wait()
        while self._chunk:
            batch, self._chunk, self._chunk_norms = list(self._chunk.values()), {}, set()
            self._write_counted(batch, report, bar)
            self._stored += 1
            # A story whose text changed may no longer be what its copies repeat: judge them again.
            changed = [p.replaces for p in batch if p.replaces is not None and p.copy_of is None]
            for row in self.store.copies_of(changed):
                self._hold(self._recheck(row))

    def _write_counted(self, batch: list[_Prepared], report: IngestReport, bar: tqdm) -> None:
        self._write(batch, report)
        bar.update(sum(not p.rechecked for p in batch))

    def _write(self, batch: list[_Prepared], report: IngestReport) -> None:
        indexed = [p for p in batch if p.keep]
        texts = [p.article.text[slice(*p.spans[i])] for p in indexed for i in p.keep]
        vectors = self.embedder.encode(texts + [p.article.title for p in indexed])
        title_vecs = iter(vectors[len(texts) :])
        removed: list[int] = []
        sentence_rows: list[dict[str, Any]] = []
        passage_rows: list[dict[str, Any]] = []
        added_vecs: list[np.ndarray] = []
        offset = 0
        with self.write_lock, self.store.transaction():
            # Passage pks are given here, not left to SQLite, so that the chunk's passages go in with one
            # statement and FAISS still learns each one's pk: past the largest before the chunk's
            # removals (read in this, the one writer's, transaction), so none is reused within it.
            # New articles are numbered the same way, and go in with one statement before their sentences.
            next_pk = self.store.next_passage_pk()
            next_article_pk = self.store.next_article_pk()
            article_rows: list[dict[str, Any]] = []
            for p in batch:
                title_vec = next(title_vecs) if p.keep else None
                if p.replaces is not None:
                    removed += self.store.replace_article(p.replaces, self._row(p, title_vec))
                    pk = p.replaces
                else:
                    pk = next_article_pk + len(article_rows)
                    article_rows.append({"pk": pk, **self._row(p, title_vec)})
                _count(p, report)
                if not p.rechecked:
                    self._scopes.add(p.article.scope)
                if not p.keep:
                    continue
                sentence_vecs = vectors[offset : offset + len(p.keep)]
                offset += len(p.keep)
                sentence_rows += self._sentence_rows(pk, p, sentence_vecs)
                windows = passage_windows(len(p.keep), self.passage_size, self.passage_stride)
                first_pk = next_pk + len(passage_rows)
                passage_rows += [
                    {"pk": first_pk + i, "article_pk": pk, "idx": i, "first": a, "last": b}
                    for i, (a, b) in enumerate(windows)
                ]
                added_vecs.append(passage_vectors(sentence_vecs, title_vec, windows, self.title_weight))
            self.store.insert_articles(article_rows)
            self.store.insert_sentences(sentence_rows)
            self.store.insert_passages(passage_rows)
            generation = self.store.bump_generation()
        change = IndexChange(
            removed,
            np.fromiter((row["pk"] for row in passage_rows), np.int64, len(passage_rows)),
            np.concatenate(added_vecs) if added_vecs else None,
        )
        if self._uncommitted is not None:
            self._uncommitted.append(change)
            return
        # FAISS follows SQLite only once it has committed: a failed commit leaves the index as it was,
        # a crash before the save leaves a manifest of an older generation, rebuilt at the next start.
        with self.write_lock:
            change.apply(self.index)
            self._unsaved = generation
        if time.perf_counter() - self._saved_at >= SAVE_SECONDS:
            self._save()

    def _save(self) -> None:
        """Without the write lock: the index guards itself, and questions search the old base while a
        merge writes the new one (seconds at a million passages)."""
        self.index.save(generation=self._unsaved)
        self._unsaved = None
        self._saved_at = time.perf_counter()

    @staticmethod
    def _row(p: _Prepared, title_vec: np.ndarray | None) -> dict:
        a = p.article
        return {
            "id": p.article_id,
            "title": a.title,
            "text": a.text,
            "url": a.url,
            "source": a.source,
            "published": a.published,
            "content_hash": p.content_hash,
            "meta": a.meta,
            "ingested_at": now_iso(),
            "title_vec": None if title_vec is None else to_blob(title_vec),
            "copy_of": p.copy_of,
            "scope": a.scope,
        }

    @staticmethod
    def _sentence_rows(pk: int, p: _Prepared, sentence_vecs: np.ndarray) -> list[dict[str, Any]]:
        """The kept sentences, each with its position in the text as ``idx``."""
        text = p.article.text
        return [
            {
                "article_pk": pk,
                "idx": i,
                "start": p.spans[i][0],
                "end": p.spans[i][1],
                "text": text[slice(*p.spans[i])],
                "norm": p.norms[i],
                "vec": to_blob(v),
            }
            for i, v in zip(p.keep, sentence_vecs, strict=True)
        ]


def _given_id(r: _Read) -> str:
    return r.article.id or make_id(r.article, r.digest)


def _may_copy(existing: dict[str, Any] | None, digest: str) -> bool:
    """Whether an article may (still) repeat a stored story, given the stored article it is: a new
    one, or a wire copy whose text changed. (The same text again is skipped, or a copy of it.)"""
    return existing is None or (existing["content_hash"] != digest and existing["copy_of"] is not None)


def _count(p: _Prepared, report: IngestReport) -> None:
    if p.rechecked:  # not one of this ingest's inputs
        return
    if p.copy_of is not None:
        report.copies += 1
    elif p.replaces is not None:
        report.updated += 1
    else:
        report.new += 1
    report.sentences += len(p.keep)
    report.article_ids.append(p.article_id)
    report.titles.append(p.article.title)


def stored_article(row: dict[str, Any]) -> ArticleIn:
    """A stored article (a `NewsStore.copies_of` row) as an input again, to be judged anew."""
    return ArticleIn(
        title=row["title"],
        text=row["text"],
        id=row["id"],
        url=row["url"],
        source=row["source"],
        published=row["published"],
        meta=json.loads(row["meta"] or "{}"),
        origin=row["id"],
        scope=row["scope"],
    )


def _other_outlet(article: ArticleIn, stored_source: str | None) -> bool:
    """Both outlets are known and differ: the same text is then a wire copy, not a repeat."""
    return bool(article.source and stored_source and article.source.casefold() != stored_source.casefold())


def _edit_of(article: ArticleIn, stored: dict[str, Any]) -> bool:
    """``stored`` (nearly the same text) is an earlier version of ``article``: from the same outlet (or
    both from none), and stored with an id made from its text, as ``article`` would be."""
    same_outlet = (article.source or "").casefold() == (stored["source"] or "").casefold()
    return same_outlet and stored["id"].startswith(TEXT_ID)


def stored_passage_vectors(store: NewsStore, dim: int, title_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's (pk, vector) at once (see `stored_passage_chunks`)."""
    chunks = list(stored_passage_chunks(store, dim, title_weight))
    if not chunks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
    return np.concatenate([ids for ids, _ in chunks]), np.concatenate([vecs for _, vecs in chunks])


def stored_passage_chunks(
    store: NewsStore, dim: int, title_weight: float, every: int = 1
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The passages' (pks, vectors), `REBUILD_ARTICLES` articles at a time (of every n-th article by pk,
    for n > 1), derived from the vectors SQLite keeps: no model needed, and a rebuild of the index
    holds one chunk at a time."""
    after = -1
    while articles := store.query(
        "SELECT pk, title_vec FROM articles WHERE title_vec IS NOT NULL AND pk > ? AND pk % ? = 0 "
        "ORDER BY pk LIMIT ?",
        [after, every, REBUILD_ARTICLES],
    ):
        after = articles[-1]["pk"]
        ids: list[np.ndarray] = []
        vecs: list[np.ndarray] = []
        for article in articles:
            rows = store.query("SELECT vec FROM sentences WHERE article_pk = ? ORDER BY idx", [article["pk"]])
            passages = store.query(
                'SELECT pk, "first", "last" FROM passages WHERE article_pk = ? ORDER BY idx', [article["pk"]]
            )
            if not rows or not passages:
                continue
            sentence_vecs = from_blobs([r["vec"] for r in rows], dim)
            title_vec = from_blobs([article["title_vec"]], dim)[0]
            windows = [(p["first"], p["last"]) for p in passages]
            ids.append(np.asarray([p["pk"] for p in passages], dtype=np.int64))
            vecs.append(passage_vectors(sentence_vecs, title_vec, windows, title_weight))
        if ids:
            yield np.concatenate(ids), np.concatenate(vecs)


def reembed(store: NewsStore, embedder: Embedder, progress: bool = False) -> int:
    """Replace every stored vector with the given model's, in one transaction; returns sentences done.

    Sentence spans stay as they are, so only vectors change and a failure leaves the old ones intact.
    """
    articles = store.query("SELECT pk, title FROM articles WHERE title_vec IS NOT NULL ORDER BY pk")
    done = 0
    with store.transaction():
        for start in tqdm(range(0, len(articles), CHUNK_ARTICLES), disable=not progress, desc="reindex"):
            chunk = articles[start : start + CHUNK_ARTICLES]
            marks = ",".join("?" * len(chunk))
            rows = store.query(
                f"SELECT pk, text FROM sentences WHERE article_pk IN ({marks})", [a["pk"] for a in chunk]
            )
            vectors = embedder.encode([r["text"] for r in rows] + [a["title"] for a in chunk])
            for row, vec in zip(rows, vectors, strict=False):
                store.execute("UPDATE sentences SET vec = ? WHERE pk = ?", [to_blob(vec), row["pk"]])
            for article, vec in zip(chunk, vectors[len(rows) :], strict=True):
                store.execute("UPDATE articles SET title_vec = ? WHERE pk = ?", [to_blob(vec), article["pk"]])
            done += len(rows)
        store.set_setting("model", embedder.name)
        store.set_setting("dim", str(embedder.dim))
        store.bump_generation()  # every passage vector changed: the index file is stale
    return done
