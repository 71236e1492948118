"""The question path: questions in, results out, stage by stage. Each question is parsed once into a
`Query`; then candidates and their evidence (stages 1-2), the rerank (3), the ranking with the
preference a time cue asks for, and the answer, which vouches for its best quote or refuses (4)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.core.errors import EngineError, QuestionError
from index.core.models import ArticleRef
from index.core.settings import Settings
from index.engine.parts import Parts
from index.news.annotations import annotate
from index.news.followups import LaterReports
from index.news.recency import TimeCue, newest_day, newest_figure_first, outside_period, prefer, time_cue
from index.news.stories import Stories
from index.search.answer import (
    REFUSAL_TERMS,
    Answer,
    AskResult,
    Ranked,
    build_answer,
    confidence,
    rank_sentences,
    refusal_evidence,
)
from index.search.candidates import Candidates
from index.search.cues import topic
from index.search.evidence import FEATURES, weigh
from index.search.query import Query
from index.search.rerank import Reranked, rerank
from index.storage.store import Filters


@dataclass
class SearchHit:
    article: ArticleRef
    score: float
    sentence: str
    passage: str

    def to_dict(self) -> dict[str, object]:
        return {
            "article": self.article.to_dict(),
            "score": round(self.score, 4),
            "sentence": self.sentence,
            "passage": self.passage,
        }


@dataclass(frozen=True)
class Ranking:
    """A question's stages up to the choice of quotes: its candidates (with their evidence), the
    rerank, the quotes chosen best first, the story relation the preference and the annotations
    share, and the best quote as ranked, before the preference chose which of its story's to show
    first: its evidence vouches for the answer."""

    candidates: Candidates
    reranked: Reranked
    ranked: list[Ranked]
    stories: Stories
    vouching: Ranked | None = None
    cue: TimeCue | None = None  # the question's time cue: a period it names binds the first quote

    def article_pks(self) -> list[int]:
        """The chosen quotes' article pks, in order."""
        return [self.candidates.article_of(r.position) for r in self.ranked]


def check_weights(settings: Settings) -> None:
    """Refuse weights naming no feature: a renamed or misspelt one would otherwise weigh nothing, silently."""
    refusal = set(settings.refusal_weights) | set(settings.first_stage_refusal_weights)
    unknown = sorted((set(settings.weights) - set(FEATURES)) | (refusal - set(REFUSAL_TERMS)))
    if unknown:
        raise EngineError(
            f"NEWSBOT_WEIGHTS / NEWSBOT_REFUSAL_WEIGHTS name unknown features: {', '.join(unknown)}; "
            f"the features are {', '.join(FEATURES)} (and, for refusal, rerank, rerank_gap, first_rank)"
        )


def _attributed(answer: Answer, candidates: Candidates, position: int) -> Answer:
    """The answer citing its article with that article's scope and upload attribution."""
    answer.article = answer.article.attributed(candidates.articles[candidates.article_of(position)])
    return answer


class QuestionPath:
    """Answers questions and searches from the engine's parts, or with NEWSBOT_DATABASE_READ_URL from
    the replica's (`Parts.for_questions`); never writes."""

    def __init__(self, settings: Settings, parts: Parts) -> None:
        self.settings = settings
        self.parts = parts.for_questions()

    @property
    def generation(self) -> int | None:
        """The store generation questions are answered at: that of the passage index they search (a
        replica's lags the primary's while it catches up)."""
        return self.parts.index.generation

    def ask_many(
        self, questions: Sequence[str], k: int | None = None, filters: Filters | None = None
    ) -> list[AskResult]:
        """Answer questions in order; the model embeds them all in one batch."""
        k = k or self.settings.top_k
        self.parts.refresh()
        started = time.perf_counter()
        queries = self.queries([self.check(q) for q in questions])
        embedded = time.perf_counter() - started
        results = []
        for query in queries:
            timings = {"embed": embedded}
            results.append(self.answer(query, self.rank(query, filters, k, timings), timings))
        return results

    def queries(self, texts: Sequence[str]) -> list[Query]:
        """Questions parsed, with their embeddings and their topics' (see `cues.topic`), in one model
        batch; a text that is its own topic (a search like "ferry strike") is embedded once."""
        topics = [topic(t) for t in texts]
        distinct = list(dict.fromkeys([*texts, *topics]))
        vectors = dict(zip(distinct, self.parts.embedder.encode(distinct), strict=True))
        return [Query.read(t, vectors[t], vectors[c]) for t, c in zip(texts, topics, strict=True)]

    def rank(
        self, query: Query, filters: Filters | None, k: int, timings: dict[str, float] | None = None
    ) -> Ranking:
        """Stages 1-3 and the ranking: candidates, evidence, rerank, the best ``k`` quotes, and for a
        question with a time cue ("the latest", "in 2023") the preference it asks for. The seconds the
        first stage and the rerank took go into ``timings``."""
        started = time.perf_counter()
        candidates, first = self.first_stage(query, filters, self.settings.max_stories)
        found = time.perf_counter()
        reranked = self.reranked(query, candidates, first)
        if timings is not None:
            timings.update(candidates=found - started, rerank=time.perf_counter() - found)
        cue = time_cue(query, lambda: newest_day(self.parts.store, filters))
        follows: dict[int, int] = {}
        if cue is not None and cue.current:  # the story's later reports, in whatever words
            with self.parts.lock:
                finder, evidence = self.parts.finder, self.parts.evidence
            later = LaterReports(self.parts.store, finder, evidence, self.parts.term_stats, self.settings)
            candidates, reranked, follows = later.bring_in(query, filters, candidates, reranked)
        # the preference may reach past the best k, to the best of each article of the story
        ranked = rank_sentences(
            candidates, reranked.scores, k, self.settings.duplicate_similarity, each_article=cue is not None
        )
        stories = Stories(candidates, self.parts.term_stats, self.settings, follows)
        vouching = ranked[0] if ranked else None
        if cue:
            ranked = prefer(cue, ranked, candidates, stories, k)
        else:
            ranked = newest_figure_first(query, ranked, candidates, stories)
        return Ranking(candidates, reranked, ranked, stories, vouching, cue)

    def answer(self, query: Query, ranking: Ranking, timings: dict[str, float]) -> AskResult:
        """Stage 4: the chosen quotes as answers, vouched for only when the best quote's own evidence
        (as ranked: `Ranking.vouching`) weighs enough and the first quote is of any period the question
        names (refused otherwise), with what they say beyond the quotes."""
        weights, threshold = self.refusal_rule
        candidates, ranked = ranking.candidates, ranking.ranked
        answers = [_attributed(build_answer(candidates, r), candidates, r.position) for r in ranked]
        evidence = self.refusal_evidence(query, ranking)
        sure = confidence(evidence, weights) if evidence else 0.0
        answered = (
            bool(answers) and sure >= threshold and not outside_period(ranking.cue, ranked[0], candidates)
        )
        result = AskResult(query.text, answered, answers, sure, timings=timings)
        annotate(result, query, ranking.article_pks(), candidates, ranking.stories, self.parts.store)
        return result

    def refusal_evidence(self, query: Query, ranking: Ranking) -> dict[str, float] | None:
        """What the refusal rule weighs: the evidence of the best quote as ranked (`Ranking.vouching`),
        with whether the first stage agrees; None without a quote. bench/fit_refusal.py fits on it."""
        vouching = ranking.vouching or (ranking.ranked[0] if ranking.ranked else None)
        if vouching is None:
            return None
        first = weigh(ranking.candidates, self.settings.weights)
        model = ranking.reranked.model
        return refusal_evidence(ranking.candidates, first, model, vouching.position, query.text)

    @property
    def refusal_rule(self) -> tuple[dict[str, float], float]:
        """The refusal weights and threshold for the path in use: they were fit with or without the
        reranker, whose logit is the strongest evidence when it is on."""
        s = self.settings
        if self.parts.reranker is None:
            return s.first_stage_refusal_weights, s.first_stage_min_answer_score
        return s.refusal_weights, s.min_answer_score

    def search(self, text: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        """Stories ranked by their best sentence, each shown with the passage around it."""
        k = k or self.settings.top_k
        self.parts.refresh()
        candidates, scores = self.first_stage(
            self.queries([self.check(text)])[0], filters, max(k, self.settings.max_stories)
        )
        best: dict[int, int] = {}
        for position in scores.argsort()[::-1]:
            if candidates.quotable[position]:  # a story is shown by its best quotable sentence
                best.setdefault(candidates.article_of(position), int(position))
        hits = []
        for position in list(best.values())[:k]:
            ranked = Ranked(position, float(scores[position]))
            answer = _attributed(build_answer(candidates, ranked, context_sentences=1), candidates, position)
            hits.append(SearchHit(answer.article, answer.score, answer.sentence, answer.context))
        return hits

    def first_stage(
        self, query: Query, filters: Filters | None, stories: int
    ) -> tuple[Candidates, np.ndarray]:
        """Stages 1 and 2: the sentences of the best `stories` stories, their evidence, and the first
        ranking's weighted scores."""
        with self.parts.lock:  # only to take the parts, made once (and swapped by reindex) under it
            finder, evidence = self.parts.finder, self.parts.evidence
        # No lock past here: the store reads on this thread's own connection and the passage index
        # guards itself, so questions run in parallel, beside an ingest.
        candidates = finder.find(query, filters or Filters(), stories)
        candidates.features = evidence.describe(query, candidates)
        return candidates, weigh(candidates, self.settings.weights)

    def reranked(self, query: Query, candidates: Candidates, first: np.ndarray) -> Reranked:
        """Stage 3: the reranker re-orders the first stage's best, when it is turned on."""
        reranker = self.parts.reranker
        if reranker is None:
            return Reranked(first, np.full(len(first), np.nan, np.float32))
        s = self.settings
        return rerank(
            reranker,
            query.text,
            candidates,
            first,
            reranker.top if s.rerank_candidates is None else s.rerank_candidates,
            reranker.first_weight if s.rerank_first_weight is None else s.rerank_first_weight,
            reranker.before_weight if s.rerank_before_weight is None else s.rerank_before_weight,
        )

    def check(self, question: str) -> str:
        """The question with its whitespace folded; a `QuestionError` saying how to fix one that is
        empty or too long."""
        question = " ".join(question.split())
        if not question:
            raise QuestionError('the question is empty: ask something, e.g. "who warned ships?"')
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionError(f"the question is {len(question)} characters long; keep it under {limit}")
        return question
