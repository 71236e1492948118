"""Stage 3: the reranker re-orders only the first stage's best, and can be turned off."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import closing
from typing import get_args

import numpy as np
import pytest

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.search.answer import rank_sentences
from index.search.candidates import Candidates
from index.search.rerank import (
    PRECISIONS,
    SHIPPED,
    CrossEncoderReranker,
    Manifest,
    create_reranker,
    mix,
    native_bfloat16,
    rerank,
)


class KeywordReranker:
    """A deterministic stand-in: a text scores by how many of its words are in `likes`."""

    name = "keywords"
    top = 3
    first_weight = 0.0
    before_weight = 0.0

    def __init__(self, *likes: str, before: bool = False) -> None:
        self.likes = set(likes)
        self.before = before
        self.calls: list[list[str]] = []

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.asarray([len(self.likes & set(t.lower().split())) for t in texts], np.float32)


def _candidates(texts: list[str], quotable: list[bool] | None = None) -> Candidates:
    sentences = [{"article_pk": 1, "idx": i, "text": t, "start": 0, "end": 0} for i, t in enumerate(texts)]
    return Candidates(
        sentences,
        {1: {"title": "Mill"}},
        np.eye(len(texts), dtype=np.float32),
        {},
        np.asarray(quotable or [True] * len(texts)),
    )


def test_only_the_first_stages_best_quotable_sentences_are_read_and_they_end_on_top():
    texts = ["a heading", "the lead", "an answer here", "the rest", "answer unread"]
    candidates = _candidates(texts, quotable=[False, True, True, True, True])
    first = np.asarray([9.0, 5.0, 4.0, 3.0, 1.0])
    model = KeywordReranker("answer")
    result = rerank(model, "q", candidates, first, top=3, first_weight=0.0)
    assert model.calls == [["Mill: the lead", "Mill: an answer here", "Mill: the rest"]]  # title: sentence
    order = [int(p) for p in np.argsort(-result.scores, kind="stable")]
    assert order[0] == 2  # the model's pick among the three
    assert set(order[:3]) == {1, 2, 3} and order[3:] == [0, 4]  # the unread keep first-stage order below
    assert np.isnan(result.model[[0, 4]]).all() and result.model[2] == 1


def test_a_reranker_trained_on_the_sentence_before_reads_it_after_the_quote():
    candidates = _candidates(["The mill shut.", "It will reopen.", "Tours start in May."])
    model = KeywordReranker("reopen", before=True)
    rerank(model, "q", candidates, np.asarray([1.0, 3.0, 2.0]), top=2, first_weight=0.0)
    # the story's first sentence has none before it
    assert model.calls == [
        ["Mill: It will reopen. | The mill shut.", "Mill: Tours start in May. | It will reopen."]
    ]
    first = KeywordReranker("mill", before=True)
    rerank(first, "q", candidates, np.asarray([3.0, 1.0, 2.0]), top=1, first_weight=0.0)
    assert first.calls == [["Mill: The mill shut."]]


def test_a_second_reading_with_the_sentence_before_can_settle_the_choice():
    # "It" is the mill only in the reading that carries the sentence before.
    candidates = _candidates(["The mill shut", "It will reopen", "The bakery will reopen"])
    first = np.asarray([1.0, 3.0, 2.0])
    once = KeywordReranker("reopen", "mill")
    tied = rerank(once, "q", candidates, first, top=3, first_weight=0.0)
    assert tied.scores[1] == tied.scores[2]  # read once, both reopen alike
    twice = KeywordReranker("reopen", "mill")
    result = rerank(twice, "q", candidates, first, top=3, first_weight=0.0, before_weight=1.0)
    assert twice.calls == [
        ["Mill: It will reopen", "Mill: The bakery will reopen", "Mill: The mill shut"],
        [
            "Mill: It will reopen | The mill shut",
            "Mill: The bakery will reopen | It will reopen",
            "Mill: The mill shut",
        ],
    ]
    assert int(np.argmax(result.scores)) == 1
    assert result.model.tolist() == [1, 1, 1]  # the first reading's logits: what refusal weighs
    trained_on_it = KeywordReranker("reopen", before=True)  # already reads it: never twice
    rerank(trained_on_it, "q", candidates, first, top=3, first_weight=0.0, before_weight=1.0)
    assert len(trained_on_it.calls) == 1


def test_the_engine_reads_twice_when_the_setting_or_the_folder_says_so(tmp_path, model):
    twice = KeywordReranker("reopen")
    settings = Settings(data_dir=tmp_path, rerank_before_weight=1.0, _env_file=None)
    with closing(Engine(settings, embedder=model, reranker=twice)) as engine:
        engine.ingest([ArticleIn("Mill", "The mill shut in May. It will reopen in June.")])
        engine.ask("when will the mill reopen?")
    assert len(twice.calls) == 2 and any(" | " in text for text in twice.calls[1])
    once = KeywordReranker("reopen")  # its before_weight, 0, is the folder's: one reading
    settings = Settings(data_dir=tmp_path, _env_file=None)
    with closing(Engine(settings, embedder=model, reranker=once)) as engine:
        engine.ask("when will the mill reopen?")
    assert len(once.calls) == 1


def test_the_first_stage_weight_can_overrule_a_weak_model_preference():
    first = np.asarray([3.0, 0.0, -3.0])
    model = np.asarray([0.0, 0.1, 0.2])
    assert int(np.argmax(mix(model, first, 0.0))) == 2
    assert int(np.argmax(mix(model, first, 2.0))) == 0
    assert mix(np.ones(3), np.ones(3), 1.0).tolist() == [0, 0, 0]  # no spread: no preference


def test_rerank_false_turns_it_off(monkeypatch):
    monkeypatch.setenv("NEWSBOT_RERANK", "false")
    settings = Settings(_env_file=None)
    assert settings.rerank is False
    assert create_reranker(settings.rerank, settings.reranker, settings.rerank_precision) is None


def test_a_folder_without_a_reranker_says_how_to_get_one(tmp_path):
    with pytest.raises(RuntimeError, match="train_reranker.py"):
        create_reranker(True, str(tmp_path), "auto")


def test_the_shipped_reranker_is_small_and_says_how_it_was_validated():
    size = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert size <= 25 * 1024 * 1024
    manifest = Manifest.read(SHIPPED)
    assert manifest.trained_layers and 1 <= manifest.top <= 30


@pytest.fixture
def engine(rerank_engine):
    return rerank_engine


def test_the_shipped_reranker_prefers_the_answer_to_the_leads_topic(reranker):
    assert isinstance(reranker, CrossEncoderReranker)
    scores = reranker.score(
        "who designed the brenford orchard",
        [
            "Community orchard planted on old allotments: Volunteers planted sixty apple trees on the old "
            "Brenford allotments on Sunday.",
            "Community orchard planted on old allotments: The orchard was designed by the landscape firm "
            "Orr & Tindall.",
        ],
    )
    assert scores[1] > scores[0]


def test_reading_in_batches_of_similar_length_scores_as_one_batch_does(reference_reranker):
    """Shorter pairs read apart from long ones are padded less; the scores, in the texts' order, are
    those of one padded batch."""
    texts = [
        "Ferries: Sailings resume on Monday.",
        "Ferries: The union said the strike would end after members voted to accept a 4% pay offer "
        "from the operator, which had threatened to cancel the summer timetable.",
        "Ferries: Crews walked out.",
        "Ferries: Talks resumed at the port on Friday after ministers stepped in.",
    ] * 3
    one = _batched(reference_reranker, 0).score("when do sailings resume", texts)
    assert reference_reranker.batch > 0
    by_length = _batched(reference_reranker, 3).score("when do sailings resume", texts)
    assert np.allclose(one, by_length, atol=1e-4) and len(set(np.round(one, 3))) == 4


PINNED = {  # question: pairs of one story, the answer among sentences that only share its topic
    "who designed the brenford orchard": [
        "Community orchard: The orchard was designed by the landscape firm Orr & Tindall.",
        "Community orchard: Orr & Tindall also planned the town's riverside walk in 2019.",
        "Community orchard: Volunteers planted sixty apple trees on the old allotments on Sunday.",
        "Community orchard: The council said the site would open to the public in spring.",
        "Community orchard: Local schools will help look after the trees.",
    ],
    "how many workers died in the warehouse fire": [
        "Warehouse fire: Fifteen workers died in the fire, the fire service said on Tuesday.",
        "Warehouse fire: The blaze started in a storage unit shortly after midnight.",
        "Warehouse fire: Firefighters fought the flames for six hours.",
        "Warehouse fire: The company said it would cooperate with the investigation.",
    ],
    "when do ferry sailings resume": [
        "Ferry strike: Sailings will resume on Monday after crews voted to accept the offer.",
        "Ferry strike: Crews walked out on Friday over pay.",
        "Ferry strike: The operator had threatened to cancel the summer timetable.",
        "Ferry strike: Passengers were offered refunds.",
    ],
}


def test_bfloat16_reads_the_pinned_set_in_the_reference_order(reference_reranker):
    """Multiplying in bfloat16 (served by default where the CPU does it in hardware) keeps float32's
    order where the scores are apart: the fast runtime must not move a clear pick."""
    fast = CrossEncoderReranker(SHIPPED, precision="bfloat16")
    assert fast.precision == "bfloat16" and reference_reranker.precision == "float32"
    for question, texts in PINNED.items():
        reference = reference_reranker.score(question, texts)
        scores = fast.score(question, texts)
        assert scores.dtype == np.float32
        assert np.argsort(-scores).tolist() == np.argsort(-reference).tolist(), question
        assert np.abs(scores - reference).max() < 0.25  # logits span several units


def test_auto_reads_bfloat16_only_where_the_cpu_multiplies_it(monkeypatch):
    assert isinstance(native_bfloat16(), bool)
    for native in (True, False):
        monkeypatch.setattr("index.search.rerank.native_bfloat16", lambda native=native: native)
        assert CrossEncoderReranker(SHIPPED, precision="auto").precision == (
            "bfloat16" if native else "float32"
        )
    with pytest.raises(RuntimeError, match="float32"):
        CrossEncoderReranker(SHIPPED, precision="half")
    monkeypatch.setenv("NEWSBOT_RERANK_PRECISION", "float32")
    assert Settings(_env_file=None).rerank_precision == "float32"
    assert get_args(Settings.model_fields["rerank_precision"].annotation) == PRECISIONS


def _batched(reranker: CrossEncoderReranker, batch: int) -> CrossEncoderReranker:
    clone = copy.copy(reranker)
    clone.batch = batch
    return clone


def test_without_the_reranker_the_answers_are_the_first_stages_order(engine):
    question = "who designed the brenford orchard"
    plain = Engine(engine.settings.model_copy(update={"rerank": False}), embedder=engine.embedder)
    try:
        candidates, first = plain.first_stage(plain.queries([question])[0], None, 10)
        expected = [
            candidates.sentences[r.position]["text"] for r in rank_sentences(candidates, first, 5, 0.95)
        ]
        assert [a.sentence for a in plain.ask(question).answers] == expected
    finally:
        plain.close()


def test_the_shipped_reranker_fixes_an_order_the_first_stage_gets_wrong(engine):
    question, first_pick, answer = (  # pinned for the shipped model: a new model may need another pair
        "when will the orchard give apples",
        "The orchard was designed",
        "Its first apples",
    )
    plain = Engine(engine.settings.model_copy(update={"rerank": False}), embedder=engine.embedder)
    try:
        assert plain.ask(question).answers[0].sentence.startswith(first_pick)  # NEWSBOT_RERANK=false
    finally:
        plain.close()
    assert engine.ask(question).answers[0].sentence.startswith(answer)
