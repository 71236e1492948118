"""Which of a question's candidate articles are coverage of one story (a strike announced, talked
over, called off), as opposed to other news on the same subject.

Two articles are one story when their sentence vectors point the same way (the centroids' cosine)
and they name the same people, places and bodies (most of the rarer article's named terms, weighted
by how rare each is in the store). Either alone is too loose. Measured on the BBC news set (2,090
articles, 2.2 million pairs): a cosine of 0.6 pairs 36,925 (an election's coverage is all alike),
both together 1,327; a sample of those reads as one story or one running event (two Greek sprinters'
hearing, the Glazer bid for Manchester United, the Six Nations), some only as one subject (two
Labour campaign pieces). On this project's own running story (tests/fixtures/time) it joins the
strike's three days and keeps apart another ferry's story and a harbour story from the same town.

A later report may tell the story in other words ("sailings to restart ... ending the walkout"):
`index.news.followups` brings such reports in by their names alone, and `Stories` then counts each as
of the story of the article it follows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

from index.core.dates import MONTHS, WEEKDAYS
from index.core.settings import AnswerSettings
from index.search.candidates import Candidates
from index.search.termstats import TermStats

# A capitalised word or acronym that is not a sentence's first word: a name, more or less.
NAMED = re.compile(r"(?<=\s)(?:[A-Z][a-z]+|[A-Z]{2,})\b")
_NOT_NAMES = frozenset(
    {
        *WEEKDAYS,
        *MONTHS,
        *("the", "a", "an", "he", "she", "it", "they", "we", "mr", "mrs", "ms", "dr"),
    }
)


def named_terms(texts: Iterable[str]) -> set[str]:
    """The named terms (lower case) of these sentences: capitalised words past each one's first,
    less days, months, articles and titles."""
    return {w.lower() for text in texts for w in NAMED.findall(text)} - _NOT_NAMES


def names_shared(a: set[str], b: set[str], idf: Mapping[str, float]) -> float:
    """How much of the rarer-named side's names (idf-weighted) the other names too: 0 to 1."""
    shared = sum(idf[w] for w in a & b)
    rarer = min(sum(idf[w] for w in a), sum(idf[w] for w in b))
    return shared / rarer if rarer > 0 else 0.0


class Stories:
    """The story relation over one question's candidate articles. The names' rarity is read from the
    store only for pairs close enough to ask about, so an undated corpus, whose answers never ask,
    pays for none of it. How close is close enough: ``story_similarity`` and ``story_names``.
    ``follows`` maps a later report brought in by its names to the article it follows: it is of that
    article's story whatever its words."""

    def __init__(
        self,
        candidates: Candidates,
        terms: TermStats,
        settings: AnswerSettings,
        follows: Mapping[int, int] | None = None,
    ) -> None:
        self.terms = terms
        self.settings = settings
        self.candidates = candidates
        self.articles = list(candidates.articles)
        self.follows = dict(follows or {})
        self._pks = candidates.article_pks()
        self._centroids: dict[int, np.ndarray] = {}  # both per article, worked out when first asked
        self._names: dict[int, set[str]] = {}
        self._idf: dict[str, float] = {}

    def same(self, a: int, b: int) -> bool:
        a, b = self.follows.get(a, a), self.follows.get(b, b)
        if a == b:
            return True
        if float(self.centroid(a) @ self.centroid(b)) < self.settings.story_similarity:
            return False
        names_a, names_b = self.names(a), self.names(b)
        if not names_a or not names_b:
            return False
        return names_shared(names_a, names_b, self._weights(names_a | names_b)) >= self.settings.story_names

    def centroid(self, pk: int) -> np.ndarray:
        """The unit mean of the article's candidate sentence vectors (its title's when it has none)."""
        if pk not in self._centroids:
            mask = self._pks == pk
            c = self.candidates
            total = c.vectors[mask].sum(axis=0) if mask.any() else c.titles[pk]
            self._centroids[pk] = total / max(float(np.linalg.norm(total)), 1e-9)
        return self._centroids[pk]

    def names(self, pk: int) -> set[str]:
        """The article's named terms (lower case), as its candidate sentences write them."""
        if pk not in self._names:
            texts = [self.candidates.sentences[i]["text"] for i in np.flatnonzero(self._pks == pk)]
            self._names[pk] = named_terms(texts)
        return self._names[pk]

    def of(self, pk: int) -> list[int]:
        """The candidate articles of ``pk``'s story, itself first."""
        return [pk, *(other for other in self.articles if other != pk and self.same(pk, other))]

    def _weights(self, names: set[str]) -> dict[str, float]:
        missing = sorted(names - self._idf.keys())
        if missing:
            self._idf.update(zip(missing, self.terms.idf(missing).tolist(), strict=True))
        return self._idf
