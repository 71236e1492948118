"""Stage 1 of a question: candidate stories from FAISS passages and FTS5 BM25, fused by rank, and
every sentence of those stories loaded for the later stages.

Candidates are whole stories because the findings showed the right story is usually found while the
right *sentence* is not: a sentence deep in the story must be able to beat the lead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from index.core.models import Outlet
from index.search.query import Query
from index.search.termstats import TermStats
from index.storage.interface import NewsStore, PassageVectors
from index.storage.store import Filters, from_blobs

# How far past `dense_candidates` a filtered search widens before it lists the filter's passages.
_WIDEST_FETCH = 256

# A sentence ends like prose: a full stop or exclamation mark, perhaps inside closing quotes/brackets.
_PROSE_END = re.compile(r"[.!…][\"'”’)\]]*$")
_NON_SPACE = re.compile(r"\S")
_LINE_END = re.compile(r"[ \t]*\n")


@dataclass
class Candidates:
    """Every sentence of the candidate stories; `features` is filled in by the evidence stage."""

    sentences: list[dict]  # pk, article_pk, idx, start, end, text
    articles: dict[int, dict]  # pk -> article row (without vectors)
    vectors: np.ndarray  # sentence vectors, for similarity and near-duplicate checks
    titles: dict[int, np.ndarray]  # article pk -> title vector
    quotable: np.ndarray  # False for sub-headings and one-line questions: context, never the quote
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    @classmethod
    def empty(cls, dim: int) -> Candidates:
        return cls([], {}, np.zeros((0, dim), np.float32), {}, np.zeros(0, bool))

    def article_of(self, position: int) -> int:
        """The pk of the article the sentence at ``position`` is from."""
        return int(self.sentences[position]["article_pk"])

    def article_pks(self) -> np.ndarray:
        """Each sentence's article pk, in order."""
        return np.asarray([s["article_pk"] for s in self.sentences])

    def best_quotable(self, scores: np.ndarray, top: int | None = None) -> list[int]:
        """The positions of the quotable sentences, best score first (ties in order), the `top` best
        when given: what the reranker reads, and what its training pools hold."""
        order = [int(p) for p in np.argsort(-scores, kind="stable") if self.quotable[p]]
        return order if top is None else order[:top]

    def of_articles(self, pks: list[int]) -> Candidates:
        """Those of these candidates that are of these articles."""
        mask = np.isin(self.article_pks(), pks)
        return Candidates(
            [s for s, keep in zip(self.sentences, mask, strict=True) if keep],
            {pk: self.articles[pk] for pk in pks},
            self.vectors[mask],
            {pk: self.titles[pk] for pk in pks},
            self.quotable[mask],
        )

    def joined(self, then: Candidates) -> Candidates:
        """``then``'s articles after these (features included)."""
        return Candidates(
            self.sentences + then.sentences,
            {**self.articles, **then.articles},
            np.vstack([self.vectors, then.vectors]),
            {**self.titles, **then.titles},
            np.concatenate([self.quotable, then.quotable]),
            np.vstack([self.features, then.features]),
        )


def is_quotable(text: str, start: int, end: int) -> bool:
    """Whether a sentence can be the quote. A line standing alone in its paragraph that does not end
    like prose — a sub-heading ("North Korea Provoking the US?"), a teaser, a caption — is not.

    Called for every sentence of every candidate article, so it looks only at the sentence's own line:
    slicing the article before and after each sentence made a question's cost grow with the square of
    its articles' length."""
    line_start = text.rfind("\n", 0, start)
    alone = not _NON_SPACE.search(text, 0, start) or (
        line_start >= 0 and not text[line_start + 1 : start].strip(" \t")
    )
    alone = alone and bool(_LINE_END.match(text, end) or not _NON_SPACE.search(text, end))
    return not alone or bool(_PROSE_END.search(text[start:end].rstrip()))


class CandidateFinder:
    def __init__(
        self,
        store: NewsStore,
        index: PassageVectors,
        terms: TermStats,
        *,
        dense_candidates: int,
        bm25_candidates: int,
    ) -> None:
        self.store = store
        self.index = index
        self.terms = terms
        self.dense_candidates = dense_candidates
        self.bm25_candidates = bm25_candidates

    def find(self, query: Query, filters: Filters, limit: int) -> Candidates:
        """Every sentence of the best `limit` stories, in story order."""
        words = self.terms.searchable(list(query.terms))
        return self.read(self._stories(query.vec, words, filters)[:limit], query.vec.size)

    def read(self, stories: list[int], dim: int) -> Candidates:
        """Every sentence of these stories (article pks), with their articles: what `find` found, or
        the later reports of a running story (`index.news.followups`)."""
        if not stories:
            return Candidates.empty(dim)
        marks = ",".join("?" * len(stories))
        articles = {
            row["pk"]: row
            for row in self.store.query(
                "SELECT pk, id, title, source, url, published, text, title_vec, scope, meta "
                f"FROM articles WHERE pk IN ({marks})",
                stories,
            )
        }
        for row in self.store.query(
            f"SELECT copy_of, source, url FROM articles WHERE copy_of IN ({marks}) ORDER BY pk", stories
        ):
            articles[row["copy_of"]].setdefault("copies", []).append(Outlet(row["source"], row["url"]))
        sentences = self.store.query(
            'SELECT pk, article_pk, idx, start, "end", text, vec FROM sentences '
            f"WHERE article_pk IN ({marks}) ORDER BY article_pk, idx",
            stories,
        )
        vectors = from_blobs([s.pop("vec") for s in sentences], dim)
        titles = {pk: from_blobs([row.pop("title_vec")], dim)[0] for pk, row in articles.items()}
        quotable = np.asarray(
            [is_quotable(articles[s["article_pk"]]["text"], s["start"], s["end"]) for s in sentences], bool
        )
        return Candidates(sentences, articles, vectors, titles, quotable)

    def _stories(self, q_vec: np.ndarray, words: list[str], filters: Filters) -> list[int]:
        """Article pks worth reading whole, best first: fused ranks of dense passages and BM25."""
        fused: dict[int, float] = {}
        _fuse(fused, self._dense_stories(q_vec, filters))
        _fuse(fused, self.store.keyword_stories(words, filters, self.bm25_candidates))
        return sorted(fused, key=fused.__getitem__, reverse=True)

    def _dense_stories(self, q_vec: np.ndarray, filters: Filters) -> list[int]:
        """The stories of the best `dense_candidates` passages that pass the filters. A filter is
        applied to an over-fetched result, widened while too few pass; only a filter so selective
        that even the widest fetch falls short lists its (then few) passages for FAISS to search. (The
        scope always applies; without other filters everything usually passes at the first fetch.)"""
        wanted = fetch = self.dense_candidates
        while True:
            hits = self.index.search(q_vec, fetch)
            stories = self._passing(self._owners([pk for pk, _ in hits]), filters)
            if len(stories) >= wanted or len(hits) < fetch:
                return stories[:wanted]
            if fetch >= wanted * _WIDEST_FETCH:
                break
            fetch *= 4
        where, params = filters.sql()
        rows = self.store.query(
            f"SELECT p.pk FROM passages p JOIN articles a ON a.pk = p.article_pk WHERE {where}", params
        )
        allowed = np.asarray([r["pk"] for r in rows], dtype=np.int64)
        hits = self.index.search(q_vec, wanted, allowed)
        return self._owners([pk for pk, _ in hits])

    def _owners(self, passage_pks: list[int]) -> list[int]:
        """Each passage's article pk, in the passages' order."""
        if not passage_pks:
            return []
        marks = ",".join("?" * len(passage_pks))
        owner = {
            r["pk"]: r["article_pk"]
            for r in self.store.query(
                f"SELECT pk, article_pk FROM passages WHERE pk IN ({marks})", passage_pks
            )
        }
        return [owner[pk] for pk in passage_pks if pk in owner]

    def _passing(self, article_pks: list[int], filters: Filters) -> list[int]:
        """These article pks (in order, repeats kept) that pass the filters."""
        if not article_pks:
            return article_pks
        distinct = sorted(set(article_pks))
        where, params = filters.sql()
        marks = ",".join("?" * len(distinct))
        passing = {
            r["pk"]
            for r in self.store.query(
                f"SELECT a.pk FROM articles a WHERE a.pk IN ({marks}) AND {where}", [*distinct, *params]
            )
        }
        return [pk for pk in article_pks if pk in passing]


def _fuse(scores: dict[int, float], ranked: list[int], k: int = 60) -> None:
    """Reciprocal-rank fusion over article pks, counting each article once per list."""
    seen: set[int] = set()
    for rank, pk in enumerate(ranked):
        if pk not in seen:
            seen.add(pk)
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (k + rank)
