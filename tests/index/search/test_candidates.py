"""Stage 1: what counts as a sentence to quote, and the candidates the engine reads."""

import pytest

from index.engine import Engine
from index.search.candidates import is_quotable
from index.search.evidence import FEATURES

TEXT = (
    "The old flour mill will reopen as a museum.\n\n"
    "Who will run the mill museum?\n\n"
    "Heritage at risk\n\n"
    "The trust will run it. Is it the right choice? Many think so.\n\n"
    "\u201cWe are delighted!\u201d\n\n"
    "The mill closed in 1968"
)


def _span(sentence: str) -> tuple[int, int]:
    start = TEXT.index(sentence)
    return start, start + len(sentence)


@pytest.mark.parametrize(
    ("sentence", "quotable"),
    [
        ("The old flour mill will reopen as a museum.", True),
        ("Who will run the mill museum?", False),  # a one-line question standing as a sub-heading
        ("Heritage at risk", False),  # a sub-heading
        ("Is it the right choice?", True),  # a question inside a paragraph is prose
        ("\u201cWe are delighted!\u201d", True),  # a one-line quote ends like prose
        ("The mill closed in 1968", False),  # a trailing line with no full stop (a teaser, a caption)
    ],
)
def test_only_prose_sentences_are_quotable(sentence, quotable):
    assert is_quotable(TEXT, *_span(sentence)) is quotable


@pytest.fixture
def engine(rerank_engine):
    return rerank_engine


def test_a_sub_heading_that_repeats_the_question_is_never_the_quote(engine):
    question = "who will run the mill museum"
    candidates, _ = engine.first_stage(engine.queries([question])[0], None, 10)
    texts = [s["text"] for s in candidates.sentences]
    heading = texts.index("Who will run the mill museum?")
    sent = candidates.features[:, FEATURES.index("sent")]
    assert sent.argmax() == heading  # the closest sentence to the question: it repeats it
    assert not candidates.quotable[heading]
    answers = engine.ask(question, k=10).answers
    assert answers[0].sentence.startswith("The Brenford Heritage Trust will run the museum")
    assert "Who will run the mill museum?" not in [a.sentence for a in answers]
    assert "Who will run the mill museum?" not in [h.sentence for h in engine.search("mill museum", k=5)]


def test_a_selective_filter_still_finds_its_stories_past_the_dense_cut(hash_settings):
    from index.core.models import ArticleIn
    from index.storage.store import Filters

    settings = hash_settings.model_copy(update={"dense_candidates": 3})
    engine = Engine(settings)
    common = [
        ArticleIn(f"Harbour news {i}", f"The harbour ferry ran late on day {i}.", source="Big Daily")
        for i in range(120)
    ]
    rare = [
        ArticleIn("Library", f"Councillors met about the library on {d}.", source="Small Post") for d in "ab"
    ]
    engine.ingest([*common, *rare])
    finder = engine.parts.finder
    vec = engine.queries(["harbour ferry late"])[0].vec
    small = {r["pk"] for r in engine.store.query("SELECT pk FROM articles WHERE source = 'Small Post'")}
    assert not small & set(finder._dense_stories(vec, Filters()))  # past the 3-passage dense cut
    assert set(finder._dense_stories(vec, Filters(outlet="Small Post"))) == small
    assert set(finder._dense_stories(vec, Filters(outlet="Big Daily"))) <= set(range(1, 121))
    engine.close()
