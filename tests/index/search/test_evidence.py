"""Stage 2: each candidate sentence's evidence features, read from the parsed question, and their weighing."""

from __future__ import annotations

import numpy as np
import pytest

from index.core.models import ArticleIn
from index.engine import Engine
from index.search.evidence import FEATURES, weigh
from index.storage.store import Filters

FERRY = (
    "The ferry company ordered new boats. In 2005 the club paid 300 crew members. "
    "It cost £4m to refit the harbour. The club was sold in 2002."
)


@pytest.fixture
def described(hash_engine: Engine) -> tuple[Engine, dict[str, np.ndarray], list[str]]:
    hash_engine.ingest([ArticleIn("Harbour club", FERRY, id="ferry", source="Gazette")])

    def describe(question: str) -> tuple[dict[str, np.ndarray], list[str]]:
        query = hash_engine.queries([question])[0]
        candidates = hash_engine.parts.finder.find(query, Filters(), 5)
        features = hash_engine.parts.evidence.describe(query, candidates)
        assert features.shape == (len(candidates.sentences), len(FEATURES))
        return dict(zip(FEATURES, features.T, strict=True)), [s["text"] for s in candidates.sentences]

    return describe  # type: ignore[return-value]


def test_position_cues_mark_the_lead(described) -> None:
    columns, texts = described("what did the ferry company order?")
    assert texts[0].startswith("The ferry company")
    assert columns["lead"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert np.allclose(columns["early"], [1, 1 / 2, 1 / 3, 1 / 4])


def test_a_year_asked_about_is_missing_where_no_neighbour_states_it(described) -> None:
    columns, texts = described("how many crew did the club pay in 2005?")
    assert texts[1].startswith("In 2005")
    # the sentence and those beside it in the story state 2005; the last, two sentences away, does not
    assert columns["number_missing"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert columns["head"].tolist() == [0.0, 1.0, 0.0, 0.0]  # "crew": the noun asked for
    assert columns["answer_type"][1] == 1.0  # "300" is a number the question does not say


def test_an_amount_question_marks_money(described) -> None:
    columns, _ = described("how much did the refit cost?")
    assert columns["amount"].tolist() == [0.0, 0.0, 1.0, 0.0]
    columns, _ = described("who refitted the harbour?")
    assert not columns["amount"].any()  # only a question asking how much looks for money


def test_weigh_sums_each_rows_weighted_features(described, hash_engine: Engine) -> None:
    query = hash_engine.queries(["what did the ferry company order?"])[0]
    candidates = hash_engine.parts.finder.find(query, Filters(), 5)
    candidates.features = hash_engine.parts.evidence.describe(query, candidates)
    lead = FEATURES.index("lead")
    assert weigh(candidates, {"lead": 2.0}).tolist() == (2 * candidates.features[:, lead]).tolist()
    assert not weigh(candidates, {}).any()


def test_shares_count_every_question_word_alike_whatever_the_corpus(described) -> None:
    """ctx_share / story_share: the share of the question's words the sentence (with its neighbours)
    and its story hold, every word alike. In a one-article corpus a word no sentence holds is the
    rarest of all by IDF, and weighed the IDF way one such word sinks the coverage (issue 32)."""
    describe = described
    features, texts = describe("how much did the refit of the harbour cost")  # refit, harbour, cost, did
    row = texts.index("It cost £4m to refit the harbour.")
    assert features["ctx_share"][row] == pytest.approx(3 / 4)  # "did" is in no sentence
    assert features["story_share"][row] == pytest.approx(3 / 4)
    assert features["ctx_overlap"][row] < 0.65  # the IDF way, the one unheld word weighs most
    first = texts.index("The ferry company ordered new boats.")
    assert features["ctx_share"][first] == 0.0  # its neighbour says nothing of refit, harbour or cost
