"""Stage 2 of a question: every candidate sentence described by evidence features that the first
ranking weighs (similarities, term overlap, answer-type cues, position)."""

from __future__ import annotations

import numpy as np

from index.search.candidates import Candidates
from index.search.cues import AMOUNT, has_answer_type, numbers
from index.search.query import Query
from index.search.termstats import TermStats
from index.storage.interface import NewsStore

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
    "ctx_share",
    "story_share",
)


def weigh(candidates: Candidates, weights: dict[str, float]) -> np.ndarray:
    """Each candidate's weighted sum of its features."""
    vector = np.asarray([weights.get(name, 0.0) for name in FEATURES], dtype=np.float32)
    return candidates.features @ vector


class Evidence:
    """Computes the feature rows; term statistics and story BM25 come from the store, at a cost
    bounded by the candidates (see `TermStats`)."""

    def __init__(self, store: NewsStore, terms: TermStats, *, context_title_weight: float) -> None:
        self.store = store
        self.terms = terms
        self.context_title_weight = context_title_weight

    def describe(self, query: Query, candidates: Candidates) -> np.ndarray:
        """The len(sentences) x len(FEATURES) feature matrix of the candidates."""
        sentences = candidates.sentences
        if not sentences:
            return np.zeros((0, len(FEATURES)), np.float32)
        words = list(query.content_terms)
        presence = self.terms.presence(words, [s["text"] for s in sentences])
        idf = self.terms.idf(words) if words else np.zeros(0)
        story_bm25 = self.store.keyword_scores(self.terms.searchable(words), list(candidates.articles))
        return self._features(query, candidates, story_bm25, words, presence, idf)

    def _features(
        self,
        query: Query,
        candidates: Candidates,
        story_bm25: dict[int, float],
        words: list[str],
        presence: np.ndarray,
        idf: np.ndarray,
    ) -> np.ndarray:
        q_vec = query.vec
        sentences, vectors = candidates.sentences, candidates.vectors
        sent = vectors @ q_vec
        article_pks = candidates.article_pks()
        title_vecs = np.stack([candidates.titles[pk] for pk in article_pks])
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
        head = query.head
        texts = [s["text"] for s in sentences]
        idx = np.asarray([s["idx"] for s in sentences])
        columns = {
            "sent": sent,
            "topic": vectors @ query.topic_vec,
            "ctx": ctx,
            "title": title_vecs @ q_vec,
            "story_bm25": story_bm / story_bm.max() if story_bm.max() > 0 else story_bm,
            "story_dense": story_dense,
            "answer_type": np.asarray([has_answer_type(t, query.kind, query.text) for t in texts], float),
            "amount": (
                np.asarray([bool(AMOUNT.search(t)) for t in texts], float)
                if query.amount
                else np.zeros(len(texts))
            ),
            "head": presence[:, words.index(head)].astype(float) if head else np.zeros(len(sentences)),
            "lead": (idx == 0).astype(float),
            "early": 1.0 / (1.0 + idx),
            "local_overlap": local_overlap,
            "ctx_overlap": near @ weight,
            "story_overlap": story_presence @ weight,
            "story_missing": (~story_presence * idf).max(axis=1, initial=0.0),
            "number_missing": _number_missing(query.numbers, texts, same_prev, same_next),
            # The same coverage with every term alike: IDF moves with the corpus (in one article every
            # word it lacks is "rare"), a share does not; refusal weighs these (search/answer.py).
            "ctx_share": near.mean(axis=1) if words else np.zeros(len(sentences)),
            "story_share": story_presence.mean(axis=1) if words else np.zeros(len(sentences)),
        }
        return np.stack([columns[name] for name in FEATURES], axis=1).astype(np.float32)


def _number_missing(
    asked: frozenset[str], texts: list[str], same_prev: np.ndarray, same_next: np.ndarray
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
