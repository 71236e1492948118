"""Turning articles into stored sentences, passages and vectors: idempotent, batched, all-or-nothing."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable
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
    skipped: int = 0
    sentences: int = 0
    seconds: float = 0.0
    problems: list[InputProblem] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return self.new + self.updated

    def summary(self) -> str:
        return (
            f"{self.new} new, {self.updated} updated, {self.skipped} skipped articles; "
            f"{self.sentences} sentences; {len(self.problems)} problems; {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict:
        return {
            "new": self.new,
            "updated": self.updated,
            "skipped": self.skipped,
            "sentences": self.sentences,
            "seconds": round(self.seconds, 2),
            "problems": [{"origin": p.origin, "message": p.message} for p in self.problems],
            "article_ids": self.article_ids,
        }


@dataclass
class _Prepared:
    article: ArticleIn
    article_id: str
    content_hash: str
    spans: list[tuple[int, int]]
    replaces: int | None  # pk of the stored version this one replaces


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
    return "text-" + digest[:12]


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
    """Writes articles into the store and the passage index."""

    def __init__(
        self,
        store: Store,
        index: PassageIndex,
        embedder: Embedder,
        *,
        passage_size: int,
        passage_stride: int,
        title_weight: float,
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.passage_size = passage_size
        self.passage_stride = passage_stride
        self.title_weight = title_weight

    def ingest(self, items: Iterable[ArticleIn | InputProblem], progress: bool = False) -> IngestReport:
        report = IngestReport()
        started = time.perf_counter()
        chunk: dict[str, _Prepared] = {}
        bar = tqdm(unit=" articles", disable=not progress, desc="ingest", leave=False)
        for item in items:
            if isinstance(item, InputProblem):
                report.problems.append(item)
                continue
            prepared = self._prepare(item, report)
            if prepared is not None:
                chunk[prepared.article_id] = prepared  # a later copy in the same batch wins
            if len(chunk) >= CHUNK_ARTICLES:
                self._write(list(chunk.values()), report)
                bar.update(len(chunk))
                chunk = {}
        if chunk:
            self._write(list(chunk.values()), report)
            bar.update(len(chunk))
        bar.close()
        if report.stored:
            self.index.save()
            self.store.set_setting("last_ingest", now_iso())
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(self, article: ArticleIn, report: IngestReport) -> _Prepared | None:
        origin = article.origin or article.id or article.title
        if not article.text.strip():
            report.problems.append(InputProblem(origin, "empty article: no text to index"))
            return None
        spans = split_sentences(article.text)
        if not spans:
            report.problems.append(InputProblem(origin, "no sentences found in the article text"))
            return None
        digest = content_hash(article.text)
        existing = self.store.find_existing(article.id, article.url, digest)
        if existing and existing["content_hash"] == digest:
            report.skipped += 1
            return None
        article_id = article.id or (existing["id"] if existing else make_id(article, digest))
        return _Prepared(article, article_id, digest, spans, existing["pk"] if existing else None)

    def _write(self, batch: list[_Prepared], report: IngestReport) -> None:
        texts = [p.article.text[a:b] for p in batch for a, b in p.spans]
        vectors = self.embedder.encode(texts + [p.article.title for p in batch])
        title_vecs = vectors[len(texts) :]
        removed: list[int] = []
        added_ids: list[np.ndarray] = []
        added_vecs: list[np.ndarray] = []
        offset = 0
        with self.store.transaction():
            for p, title_vec in zip(batch, title_vecs, strict=True):
                sentence_vecs = vectors[offset : offset + len(p.spans)]
                offset += len(p.spans)
                if p.replaces is not None:
                    removed += self.store.delete_article(p.replaces)
                pk = self._insert(p, title_vec, sentence_vecs)
                windows = passage_windows(len(p.spans), self.passage_size, self.passage_stride)
                pks = self.store.insert_passages(
                    [{"article_pk": pk, "idx": i, "first": a, "last": b} for i, (a, b) in enumerate(windows)]
                )
                added_ids.append(np.asarray(pks, dtype=np.int64))
                added_vecs.append(passage_vectors(sentence_vecs, title_vec, windows, self.title_weight))
                report.sentences += len(p.spans)
                report.article_ids.append(p.article_id)
                if p.replaces is None:
                    report.new += 1
                else:
                    report.updated += 1
        self.index.remove(removed)
        self.index.add(np.concatenate(added_ids), np.concatenate(added_vecs))

    def _insert(self, p: _Prepared, title_vec: np.ndarray, sentence_vecs: np.ndarray) -> int:
        a = p.article
        pk = self.store.insert_article(
            {
                "id": p.article_id,
                "title": a.title,
                "text": a.text,
                "url": a.url,
                "source": a.source,
                "published": a.published,
                "content_hash": p.content_hash,
                "meta": a.meta,
                "ingested_at": now_iso(),
                "title_vec": to_blob(title_vec),
            }
        )
        self.store.insert_sentences(
            [
                {"article_pk": pk, "idx": i, "start": s, "end": e, "text": a.text[s:e], "vec": to_blob(v)}
                for i, ((s, e), v) in enumerate(zip(p.spans, sentence_vecs, strict=True))
            ]
        )
        return pk


def stored_passage_vectors(store: Store, dim: int, title_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's (pk, vector), derived from the vectors SQLite keeps: no model needed."""
    ids: list[np.ndarray] = []
    vecs: list[np.ndarray] = []
    for article in store.query("SELECT pk, title_vec FROM articles ORDER BY pk"):
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
    articles = store.query("SELECT pk, title FROM articles ORDER BY pk")
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
