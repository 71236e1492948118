"""Turning articles into stored sentences, passages and vectors: idempotent, batched, all-or-nothing."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.embed import Embedder
from index.models import ArticleIn, InputProblem
from index.sentences import split_sentences
from index.store import Store, from_blobs, now_iso, to_blob
from index.vectors import PassageIndex

log = logging.getLogger(__name__)

CHUNK_ARTICLES = 256  # articles embedded per model call and written per transaction


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

    def summary(self) -> str:
        return (
            f"{self.new} new, {self.updated} updated, {self.skipped} skipped articles"
            + (f", {self.copies} wire copies of stories already indexed" if self.copies else "")
            + f"; {self.sentences} sentences; {_plural(len(self.problems), 'problem')}; {self.seconds:.1f} s"
        )

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
class _Prepared:
    article: ArticleIn
    article_id: str
    content_hash: str
    spans: list[tuple[int, int]]
    norms: list[str]
    replaces: int | None = None  # pk of the stored version this one replaces in place
    copy_of: int | None = None  # pk of the story this is a wire copy of (no sentences of its own)


def sentence_norm(sentence: str) -> str:
    """A short key equal for sentences that differ only in case, spacing or punctuation."""
    words = " ".join(re.findall(r"\w+", sentence.lower()))
    return hashlib.blake2b(words.encode(), digest_size=8).hexdigest()


def content_hash(text: str) -> str:
    """Hash of the text with whitespace folded, so re-wrapped copies count as the same text."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def make_id(article: ArticleIn, digest: str) -> str:
    """A stable id for an article that came without one: from its URL, file path or text."""
    if article.url:
        return "url-" + hashlib.sha1(article.url.encode()).hexdigest()[:12]
    path = Path(article.origin) if article.origin else None
    if path is not None and path.suffix and path.exists():
        stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "file"
        return f"{stem}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:6]}"
    key = f"{article.source}\n{digest}" if article.source else digest  # wire copies share the text
    return "text-" + hashlib.sha1(key.encode()).hexdigest()[:12]


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

    The same article again is skipped, a changed one replaced in place, and the same story from
    another outlet (identical or near-identical text) stored as a wire copy of the first one.
    """

    def __init__(
        self,
        store: Store,
        index: PassageIndex,
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

    def ingest(self, items: Iterable[ArticleIn | InputProblem], progress: bool = False) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        with tqdm(unit=" articles", disable=not progress, desc="ingest", leave=False) as bar:
            for item in items:
                if isinstance(item, InputProblem):
                    report.problems.append(item)
                    continue
                prepared = self._prepare(item, report, bar)
                if prepared is not None:
                    self._chunk[prepared.article_id] = prepared  # a later copy in the same batch wins
                if len(self._chunk) >= CHUNK_ARTICLES:
                    self._flush(report, bar)
            self._flush(report, bar)
        if report.stored:
            with self.write_lock:
                self.index.save()
            self.store.set_setting("last_ingest", now_iso())
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(self, article: ArticleIn, report: IngestReport, bar: tqdm) -> _Prepared | None:
        origin = article.origin or article.id or article.title
        if not article.text.strip():
            report.problems.append(InputProblem(origin, "empty article: no text to index"))
            return None
        spans = split_sentences(article.text)
        if not spans:
            report.problems.append(InputProblem(origin, "no sentences found in the article text"))
            return None
        digest = content_hash(article.text)
        norms = [sentence_norm(article.text[a:b]) for a, b in spans]
        if self._overlaps_pending(norms):
            self._flush(report, bar)  # so the story it may copy is in the store to compare with
        prepared = _Prepared(article, "", digest, spans, norms)
        existing = self.store.find_existing(article.id, article.url, digest)
        if existing is not None:
            if existing["content_hash"] == digest:
                if existing["by"] != "content_hash" or not _other_outlet(article, existing["source"]):
                    report.skipped += 1
                    return None
                prepared.copy_of = existing["copy_of"] or existing["pk"]
            else:
                prepared.replaces = existing["pk"]
        # A new article, or a wire copy whose text changed, may (still) repeat another outlet's story.
        if prepared.copy_of is None and (existing is None or existing["copy_of"] is not None):
            prepared.copy_of = self._near_copy_of(article, norms)
        same = existing is not None and prepared.replaces == existing["pk"]
        prepared.article_id = article.id or (existing["id"] if same else make_id(article, digest))
        return prepared

    def _overlaps_pending(self, norms: list[str]) -> bool:
        wanted = set(norms)
        return any(
            len(wanted.intersection(p.norms)) >= self.copy_overlap * len(wanted) for p in self._chunk.values()
        )

    def _near_copy_of(self, article: ArticleIn, norms: list[str]) -> int | None:
        """The stored story this one nearly repeats, when it comes from another outlet."""
        best = self.store.sentence_overlap(norms)
        if best is None or not _other_outlet(article, best["source"]):
            return None
        distinct = len(set(norms))
        if (
            best["shared"] >= self.copy_overlap * distinct
            and best["shared"] >= self.copy_overlap * best["total"]
        ):
            return best["pk"]
        return None

    def _flush(self, report: IngestReport, bar: tqdm) -> None:
        if self._chunk:
            batch, self._chunk = list(self._chunk.values()), {}
            self._write(batch, report)
            bar.update(len(batch))

    def _write(self, batch: list[_Prepared], report: IngestReport) -> None:
        stories = [p for p in batch if p.copy_of is None]
        texts = [p.article.text[a:b] for p in stories for a, b in p.spans]
        vectors = self.embedder.encode(texts + [p.article.title for p in stories])
        title_vecs = iter(vectors[len(texts) :])
        removed: list[int] = []
        added_ids: list[np.ndarray] = []
        added_vecs: list[np.ndarray] = []
        offset = 0
        with self.write_lock, self.store.transaction():
            for p in batch:
                report.article_ids.append(p.article_id)
                report.titles.append(p.article.title)
                if p.copy_of is not None:
                    if p.replaces is not None:
                        removed += self.store.replace_article(p.replaces, self._row(p, None))
                    else:
                        self.store.insert_article(self._row(p, None))
                    report.copies += 1
                    continue
                title_vec = next(title_vecs)
                sentence_vecs = vectors[offset : offset + len(p.spans)]
                offset += len(p.spans)
                if p.replaces is not None:
                    removed += self.store.replace_article(p.replaces, self._row(p, title_vec))
                    pk = p.replaces
                    report.updated += 1
                else:
                    pk = self.store.insert_article(self._row(p, title_vec))
                    report.new += 1
                self._insert_sentences(pk, p, sentence_vecs)
                windows = passage_windows(len(p.spans), self.passage_size, self.passage_stride)
                pks = self.store.insert_passages(
                    [{"article_pk": pk, "idx": i, "first": a, "last": b} for i, (a, b) in enumerate(windows)]
                )
                added_ids.append(np.asarray(pks, dtype=np.int64))
                added_vecs.append(passage_vectors(sentence_vecs, title_vec, windows, self.title_weight))
                report.sentences += len(p.spans)
            self.index.remove(removed)
            if added_ids:
                self.index.add(np.concatenate(added_ids), np.concatenate(added_vecs))

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
        }

    def _insert_sentences(self, pk: int, p: _Prepared, sentence_vecs: np.ndarray) -> None:
        text = p.article.text
        self.store.insert_sentences(
            [
                {
                    "article_pk": pk,
                    "idx": i,
                    "start": s,
                    "end": e,
                    "text": text[s:e],
                    "norm": n,
                    "vec": to_blob(v),
                }
                for i, ((s, e), n, v) in enumerate(zip(p.spans, p.norms, sentence_vecs, strict=True))
            ]
        )


def _other_outlet(article: ArticleIn, stored_source: str | None) -> bool:
    """Both outlets are known and differ: the same text is then a wire copy, not a repeat."""
    return bool(article.source and stored_source and article.source.casefold() != stored_source.casefold())


def stored_passage_vectors(store: Store, dim: int, title_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's (pk, vector), derived from the vectors SQLite keeps: no model needed."""
    ids: list[np.ndarray] = []
    vecs: list[np.ndarray] = []
    for article in store.query("SELECT pk, title_vec FROM articles WHERE copy_of IS NULL ORDER BY pk"):
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
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
    return np.concatenate(ids), np.concatenate(vecs)


def reembed(store: Store, embedder: Embedder, progress: bool = False) -> int:
    """Replace every stored vector with the given model's, in one transaction; returns sentences done.

    Sentence spans stay as they are, so only vectors change and a failure leaves the old ones intact.
    """
    articles = store.query("SELECT pk, title FROM articles WHERE copy_of IS NULL ORDER BY pk")
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
                store.db.execute("UPDATE sentences SET vec = ? WHERE pk = ?", [to_blob(vec), row["pk"]])
            for article, vec in zip(chunk, vectors[len(rows) :], strict=True):
                store.db.execute(
                    "UPDATE articles SET title_vec = ? WHERE pk = ?", [to_blob(vec), article["pk"]]
                )
            done += len(rows)
        store.set_setting("model", embedder.name)
        store.set_setting("dim", str(embedder.dim))
    return done


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
