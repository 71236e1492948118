"""Choosing and quoting answers from hand-made candidates: no store, no model."""

from __future__ import annotations

import numpy as np
import pytest

from index.core.models import ArticleRef, Outlet
from index.search.answer import (
    LEANING,
    Ranked,
    article_ref,
    build_answer,
    confidence,
    rank_sentences,
    refusal_evidence,
)
from index.search.candidates import Candidates
from index.search.evidence import FEATURES

QUAY = "The quay closed on Monday. It reopens in May. Boats moved south. Fishing stopped. Crews waited."
BELL = "They rang the bell at noon. The crowd cheered."


def _candidates(*stories: tuple[int, str], vectors: np.ndarray | None = None) -> Candidates:
    """Every sentence (split at ". ") of each (article pk, text), in story order, orthogonal vectors."""
    sentences, articles = [], {}
    for pk, text in stories:
        articles[pk] = {
            "pk": pk, "id": f"a{pk}", "title": f"Story {pk}", "source": "Gazette", "url": None,
            "published": "2024-05-01", "text": text,
        }  # fmt: skip
        start = 0
        for idx, piece in enumerate(text.split(". ")):
            piece = piece if piece.endswith(".") else piece + "."
            sentences.append({"pk": len(sentences) + 1, "article_pk": pk, "idx": idx, "start": start,
                              "end": start + len(piece), "text": piece})  # fmt: skip
            start += len(piece) + 1
    if vectors is None:
        vectors = np.eye(len(sentences), dtype=np.float32)
    return Candidates(sentences, articles, vectors, {}, np.ones(len(sentences), bool))


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("They instructed the coast guard.", True),
        ("“It was late,” she said.", True),
        ("However, the talks went on.", True),
        ("The decision was final.", True),
        ("Theirs was the last boat.", False),  # a whole word only
        ("The council met.", False),
        ("Italy won.", False),
    ],
)
def test_leaning_openings(sentence: str, leans: bool) -> None:
    assert bool(LEANING.match(sentence)) is leans


def test_a_leaning_sentence_is_quoted_with_the_one_before_it() -> None:
    candidates = _candidates((1, QUAY))
    answer = build_answer(candidates, Ranked(1, 2.5))
    assert answer.sentence == "It reopens in May."
    assert answer.quote == "The quay closed on Monday. It reopens in May."
    assert answer.quote in QUAY and answer.score == 2.5
    assert (
        answer.context == "The quay closed on Monday. It reopens in May. Boats moved south. Fishing stopped."
    )


def test_a_self_contained_sentence_is_quoted_alone_with_context_clipped_to_its_story() -> None:
    candidates = _candidates((1, QUAY), (2, BELL))
    answer = build_answer(candidates, Ranked(4, 1.0), context_sentences=2)
    assert answer.quote == answer.sentence == "Crews waited."
    assert answer.context == "Boats moved south. Fishing stopped. Crews waited."  # never into story 2
    first = build_answer(candidates, Ranked(5, 1.0))
    assert first.quote == "They rang the bell at noon."  # leans, but the sentence before is another story's
    assert first.context == BELL


def test_an_answer_cites_its_story_and_the_outlets_that_copied_it() -> None:
    candidates = _candidates((1, QUAY))
    candidates.articles[1]["copies"] = [Outlet("Courier", "https://courier.example/quay")]
    answer = build_answer(candidates, Ranked(0, 1.0))
    assert answer.article == ArticleRef("a1", "Story 1", "Gazette", None, "2024-05-01")
    assert answer.article == article_ref(candidates.articles[1])
    assert answer.also_reported_by == [Outlet("Courier", "https://courier.example/quay")]


def test_ranking_is_best_first_and_stops_at_k() -> None:
    candidates = _candidates((1, QUAY))
    scores = np.asarray([0.1, 0.5, 0.9, 0.3, 0.7], np.float32)
    ranked = rank_sentences(candidates, scores, k=3, duplicate_similarity=0.95)
    assert [r.position for r in ranked] == [2, 4, 1]
    assert [r.score for r in ranked] == pytest.approx([0.9, 0.7, 0.5])


def test_ranking_skips_what_is_no_quote_repeats_or_is_already_quoted_as_a_lead_in() -> None:
    text = "The quay closed. It reopens in May. The Quay, closed. Boats moved. Crews waited."
    vectors = np.eye(5, dtype=np.float32)
    vectors[4] = vectors[3]  # "Crews waited." says what "Boats moved." says, as far as the model knows
    candidates = _candidates((1, text), vectors=vectors)

    def ranked(*scores: float) -> list[int]:
        return [
            r.position for r in rank_sentences(candidates, np.asarray(scores), k=5, duplicate_similarity=0.95)
        ]

    assert ranked(0.9, 0.1, 0.8, 0.7, 0.6) == [0, 3, 1]  # 2 repeats 0's words, 4 duplicates 3
    assert ranked(0.2, 0.9, 0.1, 0.7, 0.6) == [1, 3, 2]  # 0 is already in 1's quote: 1 leans on it
    candidates.quotable[3] = False  # say, a sub-heading
    assert ranked(0.9, 0.1, 0.8, 0.7, 0.6) == [0, 4, 1]  # 3 is no quote, so 4 duplicates nothing taken


def test_refusal_evidence_and_confidence() -> None:
    candidates = _candidates((1, QUAY))
    candidates.features = np.arange(5 * len(FEATURES), dtype=np.float32).reshape(5, len(FEATURES))
    first = np.asarray([0.9, 0.5, 0.1, 0.7, 0.3], np.float32)
    model = np.asarray([np.nan, 2.0, np.nan, 2.5, -1.0], np.float32)
    evidence = refusal_evidence(candidates, first, model, 1, "")
    assert evidence["sent"] == len(FEATURES) and evidence["rerank"] == 2.0
    assert evidence["rerank_gap"] == pytest.approx(-0.5)  # 3 read higher: no clear winner
    assert refusal_evidence(candidates, first, model, 3, "")["rerank_gap"] == pytest.approx(0.5)
    unread = refusal_evidence(candidates, first, model, 0, "")
    assert unread["rerank"] == unread["rerank_gap"] == 0.0  # not read by the reranker
    alone = np.asarray([np.nan, 2.0, np.nan, np.nan, np.nan], np.float32)
    assert refusal_evidence(candidates, first, alone, 1, "")["rerank_gap"] == 0.0  # nothing else read
    assert confidence(evidence, {"sent": 0.5, "rerank": 1.0}) == pytest.approx(len(FEATURES) / 2 + 2.0)


def test_first_rank_is_where_the_first_stage_put_the_quote_among_quotable_sentences() -> None:
    """The stages agree when the reranked best was the first stage's best too: 1, then 1/2, 1/3..."""
    candidates = _candidates((1, QUAY))
    candidates.features = np.zeros((5, len(FEATURES)), np.float32)
    first = np.asarray([0.9, 0.5, 0.1, 0.7, 0.3], np.float32)
    model = np.full(5, np.nan, np.float32)
    assert [
        refusal_evidence(candidates, first, model, p, "")["first_rank"] for p in (0, 3, 1)
    ] == pytest.approx([1.0, 1 / 2, 1 / 3])
    candidates.quotable[0] = False  # a sub-heading above it is no rival quote
    assert refusal_evidence(candidates, first, model, 3, "")["first_rank"] == 1.0
