"""Hybrid retrieval: candidate stories from FAISS passages and FTS5 BM25, then every sentence of
those stories described by a few evidence features that the answerer weighs.

Candidates are whole stories because the findings showed the right story is usually found while the
right *sentence* is not: a sentence deep in the story must be able to beat the lead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.cues import (
    AMOUNT,
    answer_type,
    asks_amount,
    fts_query,
    has_answer_type,
    head_term,
    numbers,
    terms,
)
from index.models import Outlet
from index.store import Filters, Store, from_blobs
from index.vectors import PassageIndex

FEATURES = (
    "sent",
    "topic",
    "ctx",
    "title",
    "story_bm25",
    "story_dense",
    "answer_type",
    "amount",
    "head",
    "lead",
    "early",
    "local_overlap",
    "ctx_overlap",
    "story_overlap",
    "story_missing",
    "number_missing",
)


@dataclass(frozen=True)
class Query:
    text: str
    vec: np.ndarray  # the question's embedding
    topic_vec: np.ndarray  # the embedding of its topic: the question without its asking words


@dataclass
class Candidates:
    """Every sentence of the candidate stories, with its feature row."""

    sentences: list[dict]  # pk, article_pk, idx, start, end, text
    articles: dict[int, dict]  # pk -> article row (without vectors)
    features: np.ndarray  # len(sentences) x len(FEATURES)
    vectors: np.ndarray  # sentence vectors, for near-duplicate checks


class Retriever:
    def __init__(
        self,
        store: Store,
        index: PassageIndex,
        *,
        dense_candidates: int,
        bm25_candidates: int,
        context_title_weight: float,
    ) -> None:
        self.store = store
        self.index = index
        self.dense_candidates = dense_candidates
        self.bm25_candidates = bm25_candidates
        self.context_title_weight = context_title_weight

    def candidates(self, query: Query, filters: Filters, limit: int) -> Candidates:
        """Every sentence of the best `limit` stories, with evidence features."""
        match = fts_query(query.text)
        stories = self._stories(query.vec, match, filters)[:limit]
        dim = query.vec.size
        if not stories:
            return Candidates([], {}, np.zeros((0, len(FEATURES)), np.float32), np.zeros((0, dim)))
        marks = ",".join("?" * len(stories))
        articles = {
            row["pk"]: row
            for row in self.store.query(
                f"SELECT pk, id, title, source, url, published, text, title_vec FROM articles "
                f"WHERE pk IN ({marks})",
                stories,
            )
        }
        for row in self.store.query(
            f"SELECT copy_of, source, url FROM articles WHERE copy_of IN ({marks}) ORDER BY pk", stories
        ):
            articles[row["copy_of"]].setdefault("copies", []).append(Outlet(row["source"], row["url"]))
        sentences = self.store.query(
            f"SELECT pk, article_pk, idx, start, end, text, vec FROM sentences WHERE article_pk IN ({marks}) "
            "ORDER BY article_pk, idx",
            stories,
        )
        vectors = from_blobs([s.pop("vec") for s in sentences], dim)
        titles = {pk: from_blobs([row.pop("title_vec")], dim)[0] for pk, row in articles.items()}
        presence, idf = self._term_presence(query.text, [s["pk"] for s in sentences])
        story_bm25 = self._story_bm25(match, list(articles))
        features = self._features(query, sentences, vectors, titles, story_bm25, presence, idf)
        return Candidates(sentences, articles, features, vectors)

    def _stories(self, q_vec: np.ndarray, match: str | None, filters: Filters) -> list[int]:
        """Article pks worth reading whole, best first: fused ranks of dense passages and BM25."""
        allowed = None
        if filters:
            where, params = filters.sql()
            rows = self.store.query(
                f"SELECT p.pk FROM passages p JOIN articles a ON a.pk = p.article_pk WHERE {where}", params
            )
            allowed = np.asarray([r["pk"] for r in rows], dtype=np.int64)
        fused: dict[int, float] = {}
        hits = self.index.search(q_vec, self.dense_candidates, allowed)
        if hits:
            marks = ",".join("?" * len(hits))
            owner = {
                r["pk"]: r["article_pk"]
                for r in self.store.query(
                    f"SELECT pk, article_pk FROM passages WHERE pk IN ({marks})", [pk for pk, _ in hits]
                )
            }
            _fuse(fused, [owner[pk] for pk, _ in hits if pk in owner])
        if match:
            where, params = filters.sql()
            rows = self.store.query(
                "SELECT s.article_pk FROM sentences_fts f JOIN sentences s ON s.pk = f.rowid "
                f"JOIN articles a ON a.pk = s.article_pk WHERE sentences_fts MATCH ? AND {where} "
                "ORDER BY f.rank LIMIT ?",
                [match, *params, self.bm25_candidates],
            )
            _fuse(fused, [r["article_pk"] for r in rows])
        return sorted(fused, key=fused.__getitem__, reverse=True)

    def _term_presence(self, question: str, pks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Which candidate sentences hold each query term (as FTS5 stems it), and each term's IDF.

        Each term's whole posting list is read and intersected here: FTS5 filters `rowid IN (…)`
        row by row, which is far slower for a few thousand candidates.
        """
        words = terms(question)
        presence = np.zeros((len(pks), len(words)), dtype=bool)
        idf = np.zeros(len(words))
        if not words or not pks:
            return presence, idf
        position = {pk: i for i, pk in enumerate(pks)}
        total = self.store.count("sentences")
        for j, word in enumerate(words):
            phrase = '"' + word.replace('"', "") + '"'
            rows = self.store.query("SELECT rowid FROM sentences_fts WHERE sentences_fts MATCH ?", [phrase])
            idf[j] = np.log(1 + (total - len(rows) + 0.5) / (len(rows) + 0.5))
            hits = [position[r["rowid"]] for r in rows if r["rowid"] in position]
            presence[hits, j] = True
        return presence, idf

    def _story_bm25(self, match: str | None, pks: list[int]) -> dict[int, float]:
        if not match or not pks:
            return {}
        marks = ",".join("?" * len(pks))
        rows = self.store.query(
            f"SELECT rowid, -bm25(articles_fts, 2.0, 1.0) AS score FROM articles_fts "
            f"WHERE articles_fts MATCH ? AND rowid IN ({marks})",
            [match, *pks],
        )
        return {r["rowid"]: r["score"] for r in rows}

    def _features(
        self,
        query: Query,
        sentences: list[dict],
        vectors: np.ndarray,
        titles: dict[int, np.ndarray],
        story_bm25: dict[int, float],
        presence: np.ndarray,
        idf: np.ndarray,
    ) -> np.ndarray:
        question, q_vec = query.text, query.vec
        kind = answer_type(question)
        sent = vectors @ q_vec
        article_pks = np.asarray([s["article_pk"] for s in sentences])
        title_vecs = np.stack([titles[pk] for pk in article_pks])
        ctx = _context_vectors(vectors, article_pks, title_vecs, self.context_title_weight) @ q_vec
        story_bm = np.asarray([story_bm25.get(pk, 0.0) for pk in article_pks])
        same_prev, same_next = _neighbours(article_pks)
        near = presence | (np.roll(presence, 1, axis=0) & same_prev[:, None])
        near |= np.roll(presence, -1, axis=0) & same_next[:, None]
        story_dense = np.zeros(len(sentences))
        story_presence = np.zeros_like(presence)
        local_overlap = np.zeros(len(sentences))
        for pk in set(article_pks.tolist()):
            mask = article_pks == pk
            story_dense[mask] = np.sort(sent[mask])[-3:].mean()
            story_presence[mask] = presence[mask].any(axis=0)
            local_overlap[mask] = _local_overlap(presence[mask])
        weight = idf / idf.sum() if idf.sum() > 0 else idf
        words, head = terms(question), head_term(question)
        texts = [s["text"] for s in sentences]
        idx = np.asarray([s["idx"] for s in sentences])
        columns = {
            "sent": sent,
            "topic": vectors @ query.topic_vec,
            "ctx": ctx,
            "title": title_vecs @ q_vec,
            "story_bm25": story_bm / story_bm.max() if story_bm.max() > 0 else story_bm,
            "story_dense": story_dense,
            "answer_type": np.asarray([has_answer_type(t, kind, question) for t in texts], float),
            "amount": (
                np.asarray([bool(AMOUNT.search(t)) for t in texts], float)
                if asks_amount(question)
                else np.zeros(len(texts))
            ),
            "head": presence[:, words.index(head)].astype(float) if head else np.zeros(len(sentences)),
            "lead": (idx == 0).astype(float),
            "early": 1.0 / (1.0 + idx),
            "local_overlap": local_overlap,
            "ctx_overlap": near @ weight,
            "story_overlap": story_presence @ weight,
            "story_missing": (~story_presence * idf).max(axis=1, initial=0.0),
            "number_missing": _number_missing(numbers(question), texts, same_prev, same_next),
        }
        return np.stack([columns[name] for name in FEATURES], axis=1).astype(np.float32)


def _number_missing(
    asked: set[str], texts: list[str], same_prev: np.ndarray, same_next: np.ndarray
) -> np.ndarray:
    """The share of the question's numbers (a year, a count) that neither the sentence nor its
    neighbours state: "who won in 2005?" is not answered by a sentence about 2002."""
    missing = np.zeros(len(texts))
    if not asked:
        return missing
    found = [numbers(t) for t in texts]
    for i, own in enumerate(found):
        near = own | (found[i - 1] if same_prev[i] else set()) | (found[i + 1] if same_next[i] else set())
        missing[i] = len(asked - near) / len(asked)
    return missing


def _local_overlap(presence: np.ndarray) -> np.ndarray:
    """The question terms each sentence of one story holds, each weighted by how few of the story's
    sentences hold it: the story's subject is in most of them, the words that single out the
    answering sentence ("commissioned", "prize") in few. 1 = every term, each in this sentence alone."""
    n, m = presence.shape
    if not m:
        return np.zeros(n)
    rarity = np.log((n + 1) / (presence.sum(axis=0) + 0.5))
    return presence @ rarity / (m * np.log((n + 1) / 1.5))


def _fuse(scores: dict[int, float], ranked: list[int], k: int = 60) -> None:
    """Reciprocal-rank fusion over article pks, counting each article once per list."""
    seen: set[int] = set()
    for rank, pk in enumerate(ranked):
        if pk not in seen:
            seen.add(pk)
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (k + rank)


def _context_vectors(
    vectors: np.ndarray, article_pks: np.ndarray, title_vecs: np.ndarray, title_weight: float
) -> np.ndarray:
    """Each sentence's vector averaged with its neighbours in the same story, pulled to the title."""
    prev = np.roll(vectors, 1, axis=0)
    nxt = np.roll(vectors, -1, axis=0)
    same_prev, same_next = _neighbours(article_pks)
    total = vectors + prev * same_prev[:, None] + nxt * same_next[:, None]
    count = 1 + same_prev.astype(float) + same_next.astype(float)
    ctx = total / count[:, None] + title_weight * title_vecs
    return ctx / np.maximum(np.linalg.norm(ctx, axis=1, keepdims=True), 1e-9)


def _neighbours(article_pks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each sentence's previous / next row is a sentence of the same story."""
    same_prev = np.roll(article_pks, 1) == article_pks
    same_next = np.roll(article_pks, -1) == article_pks
    if len(article_pks):
        same_prev[0] = same_next[-1] = False
    return same_prev, same_next
