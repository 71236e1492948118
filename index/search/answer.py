"""Choosing the quotes: weigh each candidate sentence's evidence, collapse near-duplicates, quote
the best sentence verbatim (with the sentence it leans on), and refuse when the evidence is weak."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.core.models import ArticleRef, Differing, Outlet, Reported
from index.search.candidates import Candidates
from index.search.cues import withheld
from index.search.evidence import FEATURES

_WORDS = re.compile(r"\w+")
# A sentence opening with one of these words usually needs the sentence before it to make sense.
LEANING = re.compile(
    r"^[\"“‘']?(?:he|she|they|it|its|his|her|their|them|this|that|these|those|such|there|both|"
    r"but|however|also|instead|meanwhile|yet|so|and|then|the (?:move|decision|company|firm|group|official|"
    r"statement|report|plan|deal))\b",
    re.IGNORECASE,
)


@dataclass
class Answer:
    sentence: str
    quote: str
    score: float
    article: ArticleRef
    context: str
    also_reported_by: list[Outlet] = field(default_factory=list)
    link: str | None = None  # the article's URL opening at the quote (index/news/links.py)
    newer: list[ArticleRef] = field(default_factory=list)  # newer coverage of the story, newest first
    reported_by: Reported | None = None  # how many outlets carried it as wire copies, and since when

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "quote": self.quote,
            "score": round(self.score, 4),
            "article": self.article.to_dict(),
            "context": self.context,
            "also_reported_by": [o.to_dict() for o in self.also_reported_by],
            "link": self.link,
            "newer": [{"title": a.title, "url": a.url, "published": a.published} for a in self.newer],
            "reported_by": self.reported_by.to_dict() if self.reported_by else None,
        }


@dataclass
class AskResult:
    question: str
    answered: bool
    answers: list[Answer]
    confidence: float = 0.0  # how strongly the best quote answers; below the threshold = refused
    differing: list[Differing] = field(default_factory=list)  # figures the top answers disagree on
    # Seconds spent per stage ("embed", "candidates", "rerank"; embed is the whole batch's), for the
    # bot's metrics; not part of the JSON.
    timings: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "answers": [a.to_dict() for a in self.answers],
            "confidence": round(self.confidence, 4),
            "differing": [d.to_dict() for d in self.differing],
        }


# What refusal may weigh: the best quote's evidence features, the reranker's logit for it, how far that
# logit stands above the best other sentence the reranker read ("rerank_gap": a clear winner), and
# whether the two stages agree ("first_rank": 1 / (1 + the quote's place in the first ranking's
# quotable sentences)). The gap and the agreement are relative to the question's own candidates, so
# they mean the same in one article as in a million (corpus statistics such as IDF do not).
REFUSAL_TERMS = (*FEATURES, "rerank", "rerank_gap", "first_rank", "withheld")


def refusal_evidence(
    candidates: Candidates, first: np.ndarray, model: np.ndarray, position: int, question: str
) -> dict[str, float]:
    """The best quote's evidence for the confidence that it answers at all. `first` holds the first
    ranking's scores, `model` the reranker's logits (NaN where it did not read, or when it is off:
    then both rerank terms weigh 0); "withheld" is whether the quote says that what the question asks
    for was not disclosed (`cues.withheld`: read for this one quote, not every candidate)."""
    row = dict(zip(FEATURES, candidates.features[position].tolist(), strict=True))
    others = ~np.isnan(model)
    scored = bool(others[position])
    others[position] = False
    row["rerank"] = float(model[position]) if scored else 0.0
    row["rerank_gap"] = row["rerank"] - float(model[others].max()) if scored and others.any() else 0.0
    above = candidates.quotable & (first > first[position])
    row["first_rank"] = 1.0 / (1.0 + int(above.sum()))
    row["withheld"] = float(withheld(candidates.sentences[position]["text"], question))
    return row


def confidence(evidence: dict[str, float], weights: dict[str, float]) -> float:
    return float(sum(weight * evidence[name] for name, weight in weights.items()))


@dataclass(frozen=True)
class Ranked:
    """One candidate sentence after weighing, as positions into `Candidates`."""

    position: int
    score: float


def rank_sentences(
    candidates: Candidates,
    scores: np.ndarray,
    k: int,
    duplicate_similarity: float,
    each_article: bool = False,
) -> list[Ranked]:
    """Best-first sentences, skipping any that is no quote (a sub-heading), that repeats (near-verbatim)
    one already taken, or that is already quoted as the lead-in of a better answer: the best ``k``, or
    with ``each_article`` the best ``k`` of each article (what a time cue's preference may reach for;
    the best ``k`` overall are among them).

    Linear in the candidates: a sentence whose article has its ``k`` is passed over before any work, so
    the near-duplicate check compares with at most ``k`` per article, held in one preallocated matrix."""
    sentences, vectors = candidates.sentences, candidates.vectors
    limit = k * (len(candidates.articles) if each_article else 1)
    chosen = np.empty((min(limit, len(sentences)), vectors.shape[1]), vectors.dtype)
    taken: list[int] = []
    per_article: Counter[int] = Counter()
    seen_text: set[str] = set()
    quoted: set[int] = set()
    for position in np.argsort(-scores, kind="stable"):
        article = candidates.article_of(position)
        if (
            position in quoted
            or not candidates.quotable[position]
            or (each_article and per_article[article] >= k)
        ):
            continue
        key = " ".join(_WORDS.findall(sentences[position]["text"].lower()))
        if key in seen_text:
            continue
        if taken and float(np.max(chosen[: len(taken)] @ vectors[position])) >= duplicate_similarity:
            continue
        seen_text.add(key)
        chosen[len(taken)] = vectors[position]
        taken.append(int(position))
        per_article[article] += 1
        if neighbour(sentences, position, -1) is not None and LEANING.match(sentences[position]["text"]):
            quoted.add(position - 1)
        if len(taken) == limit:
            break
    return [Ranked(p, float(scores[p])) for p in taken]


def article_ref(row: dict[str, Any]) -> ArticleRef:
    return ArticleRef(row["id"], row["title"], row["source"], row["url"], row["published"])


def build_answer(candidates: Candidates, ranked: Ranked, context_sentences: int = 2) -> Answer:
    """The verbatim quote: the sentence, preceded by the one before it when it leans on it."""
    sentences = candidates.sentences
    best = sentences[ranked.position]
    article = candidates.articles[candidates.article_of(ranked.position)]
    text = article["text"]
    start = best["start"]
    previous = neighbour(sentences, ranked.position, -1)
    if previous is not None and LEANING.match(best["text"]):
        start = previous["start"]  # rank_sentences then skips `previous` as an answer of its own
    first = neighbour(sentences, ranked.position, -context_sentences) or _end_of(
        sentences, ranked.position, -1
    )
    last = neighbour(sentences, ranked.position, context_sentences) or _end_of(sentences, ranked.position, 1)
    return Answer(
        sentence=best["text"],
        quote=text[start : best["end"]],
        score=ranked.score,
        article=article_ref(article),
        context=text[first["start"] : last["end"]],
        also_reported_by=article.get("copies", []),
    )


def neighbour(sentences: list[dict], position: int, step: int) -> dict | None:
    """The sentence `step` places away in the same article's text, if there is one (a wire copy's
    own sentences are stored apart from the original's: neighbours in the list, not in the text)."""
    other = position + step
    if not 0 <= other < len(sentences):
        return None
    here, there = sentences[position], sentences[other]
    return there if there["article_pk"] == here["article_pk"] and there["idx"] == here["idx"] + step else None


def _end_of(sentences: list[dict], position: int, step: int) -> dict:
    """The first (step -1) or last (step 1) sentence of the run of the text that holds `position`."""
    while neighbour(sentences, position, step) is not None:
        position += step
    return sentences[position]
