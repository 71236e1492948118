"""A running story's later reports that tell it in other words, brought in by the names they share.

A question about the current state ("is the ferry strike over?", "the latest", "what happened next")
is answered from its story's newest report (`recency.prefer`). The first stage finds reports by the
question's words and meaning, so a last report that never repeats them ("sailings to restart ...
ending the walkout") is missed and the middle one is quoted. What such a report shares with its story
is its names: the people, bodies and places. So the best quote's article's rarest names are looked up
in the store among the articles of the next ``story_follow_days`` days; those that name enough of its
names (idf-weighted, as `Stories` weighs them) join the candidates as of its story.

Bounded: one keyword query for at most `RAREST_NAMES` names (its cost that of their postings, rare by
choice), at most ``story_follow_articles`` articles read, and every step linear in what it reads.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np

from index.core.dates import is_later, stated_day
from index.core.settings import Settings
from index.news.stories import named_terms, names_shared
from index.search.candidates import CandidateFinder, Candidates
from index.search.evidence import Evidence, weigh
from index.search.query import Query
from index.search.rerank import Reranked
from index.search.termstats import TermStats
from index.storage.interface import NewsStore
from index.storage.store import Filters

log = logging.getLogger(__name__)

RAREST_NAMES = 8  # the best quote's article's names looked up: its rarest
# Keyword hits read per article wanted: one report matches in several sentences, and the story's own
# reports already among the candidates match too.
HITS_PER_ARTICLE = 10


class Followed(NamedTuple):
    """The candidates with the later reports joined (below every other in ``reranked``), and which
    article each of those reports follows (for `Stories`)."""

    candidates: Candidates
    reranked: Reranked
    follows: dict[int, int]


class LaterReports:
    """Finds and joins the later reports of the best quote's story; reads, never writes."""

    def __init__(
        self,
        store: NewsStore,
        finder: CandidateFinder,
        evidence: Evidence,
        terms: TermStats,
        settings: Settings,
    ) -> None:
        self.store = store
        self.finder = finder
        self.evidence = evidence
        self.terms = terms
        self.settings = settings

    def bring_in(
        self, query: Query, filters: Filters | None, candidates: Candidates, reranked: Reranked
    ) -> Followed:
        """``candidates`` with the later reports of their best quote's story (unchanged when its
        article is undated, or none is found)."""
        unchanged = Followed(candidates, reranked, {})
        anchor = _best_article(candidates, reranked.scores)
        if anchor is None or self.settings.story_follow_days == 0:
            return unchanged
        published = candidates.articles[anchor]["published"]
        window = self._window(stated_day(published), filters or Filters())
        if window is None:
            return unchanged
        names = named_terms(s["text"] for s in candidates.sentences if s["article_pk"] == anchor)
        if not names:
            return unchanged
        idf = dict(zip(sorted(names), self.terms.idf(sorted(names)).tolist(), strict=True))
        rarest = sorted(names, key=lambda name: (-idf[name], name))[:RAREST_NAMES]
        limit = HITS_PER_ARTICLE * (self.settings.story_follow_articles + len(candidates.articles))
        found = self._originals(
            [pk for pk in self.store.keyword_stories(rarest, window, limit) if pk not in candidates.articles]
        )
        later = self.finder.read(found[: self.settings.story_follow_articles], query.vec.size)
        kept = self._of_story(later, names, published, idf)
        if not kept:
            return unchanged
        joined = later.of_articles(kept)
        joined.features = self.evidence.describe(query, joined)
        log.debug("story of article %s: later reports %s brought in", anchor, kept)
        return Followed(
            candidates.joined(joined),
            _below(reranked, weigh(joined, self.settings.weights)),
            dict.fromkeys(kept, anchor),
        )

    def _window(self, day: date | None, filters: Filters) -> Filters | None:
        """The question's filters narrowed to the days from ``day`` to ``story_follow_days`` after it;
        None when there are none (an undated article, or filters that end before)."""
        if day is None:
            return None
        since = max(day.isoformat(), filters.since or "")
        until = min(
            (day + timedelta(days=self.settings.story_follow_days)).isoformat(), filters.until or "9999"
        )
        return replace(filters, since=since, until=until) if since <= until else None

    def _originals(self, pks: list[int]) -> list[int]:
        """These article pks, each once and in order, less wire copies: a copy repeats its story."""
        distinct = list(dict.fromkeys(pks))
        if not distinct:
            return []
        marks = ",".join("?" * len(distinct))
        rows = self.store.query(
            f"SELECT pk FROM articles WHERE pk IN ({marks}) AND copy_of IS NULL", distinct
        )
        originals = {row["pk"] for row in rows}
        return [pk for pk in distinct if pk in originals]

    def _of_story(
        self, later: Candidates, names: set[str], published: str, idf: dict[str, float]
    ) -> list[int]:
        """The articles of ``later`` published after ``published`` that name enough of ``names``
        (``idf`` holds their rarity, and gains the later articles' names')."""
        theirs: dict[int, list[str]] = {}
        for sentence in later.sentences:
            theirs.setdefault(sentence["article_pk"], []).append(sentence["text"])
        named = {pk: named_terms(texts) for pk, texts in theirs.items()}
        missing = sorted(set().union(*named.values()) - idf.keys())
        if missing:
            idf.update(zip(missing, self.terms.idf(missing).tolist(), strict=True))
        return [
            pk
            for pk, their_names in named.items()
            if is_later(later.articles[pk]["published"], published)
            and names_shared(names, their_names, idf) >= self.settings.story_names
        ]


def _best_article(candidates: Candidates, scores: np.ndarray) -> int | None:
    """The article of the best quotable sentence (the quote `rank_sentences` puts first)."""
    quotable = np.flatnonzero(candidates.quotable)
    if not quotable.size:
        return None
    return candidates.article_of(int(quotable[np.argmax(scores[quotable])]))


def _below(reranked: Reranked, scores: np.ndarray) -> Reranked:
    """``reranked`` with ``scores`` after it, all below its own in their order, unread by the model."""
    floor = float(reranked.scores.min()) if reranked.scores.size else 0.0
    placed = scores - float(scores.max()) + floor - 1.0
    return Reranked(
        np.concatenate([reranked.scores, placed]).astype(np.float32),
        np.concatenate([reranked.model, np.full(len(scores), np.nan, np.float32)]),
    )
