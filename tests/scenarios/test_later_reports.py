"""A running story whose last report never names it, over our own corpus (tests/fixtures/running): a bus
strike in Marrick voted for (Sep 2), begun (Sep 5), talked over (Sep 7), and ended in a report about
"the full Marrick timetable ... ending a walkout" (Sep 10) that says neither "bus" nor "strike"; the
town's market hall closing (Sep 9); the bus company's new route (November, the same people); and a mill
fire whose toll rose from 12 to 15. Unrelated news beside (tests/fixtures/quality).

Each engine reads three stories a question (``max_stories``), as a large corpus leaves a report in other
words out of the first stage: these tests check it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.settings import Settings
from index.engine import Engine
from index.search.answer import Answer
from index.search.rerank import CrossEncoderReranker
from index.storage.embed import SentenceTransformerEmbedder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STRIKE = ["r-bus-restart", "r-bus-talks", "r-bus-begins", "r-bus-vote"]  # newest first


def story_order(answers: list[Answer]) -> list[str]:
    """The strike's reports in the order the answers first quote them."""
    return [i for i in dict.fromkeys(a.article.id for a in answers) if i in STRIKE]


CURRENT = [
    "is the Marrick bus strike over?",
    "what's the latest on the Marrick bus strike?",
    "what happened next in the Marrick bus strike?",
]


def _engine(folder: Path, settings: Settings, **models: object) -> Engine:
    engine = Engine(settings.model_copy(update={"data_dir": folder, "max_stories": 3}), **models)  # type: ignore[arg-type]
    report = engine.ingest_paths(
        [FIXTURES / "running" / "articles.jsonl", FIXTURES / "quality" / "articles.jsonl"]
    )
    assert (report.new, report.copies) == (12, 1), report.problems
    return engine


@pytest.fixture(scope="module")
def hashed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = _engine(tmp_path_factory.mktemp("hashed"), Settings(model="hash", rerank=False, _env_file=None))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def modelled(
    tmp_path_factory: pytest.TempPathFactory,
    model: SentenceTransformerEmbedder,
    reranker: CrossEncoderReranker,
) -> Iterator[Engine]:
    engine = _engine(
        tmp_path_factory.mktemp("modelled"), Settings(_env_file=None), embedder=model, reranker=reranker
    )
    yield engine
    engine.close()


def first_stage_ids(engine: Engine, question: str) -> set[str]:
    query = engine.queries([question])[0]
    candidates, _ = engine.first_stage(query, None, engine.settings.max_stories)
    return {row["id"] for row in candidates.articles.values()}


@pytest.mark.parametrize("question", CURRENT)
def test_the_current_state_is_quoted_from_the_report_that_never_names_the_story(
    hashed: Engine, question: str
) -> None:
    assert "r-bus-restart" not in first_stage_ids(hashed, question)  # found by its names alone
    result = hashed.ask(question)
    assert result.answered and story_order(result.answers) == STRIKE[: len(story_order(result.answers))]
    assert [a.title for a in result.answers[1].newer] == ["Velloway timetable back from Wednesday"]
    assert result.answers[0].newer == []


def test_the_towns_other_story_and_the_companys_later_news_stay_out(hashed: Engine) -> None:
    quoted = {a.article.id for a in hashed.ask("is the Marrick bus strike over?", k=10).answers}
    assert "r-market" not in quoted  # in the window, but shares only the town
    assert "r-bus-route" not in quoted  # the same people, but two months on
    market = hashed.ask("what is happening with the Marrick market hall now?").answers
    assert market[0].article.id == "r-market" and "r-bus-restart" not in {a.article.id for a in market}


def test_a_plain_question_brings_nothing_in(hashed: Engine) -> None:
    assert "r-bus-restart" not in {a.article.id for a in hashed.ask("who is Fenella Quayle?", k=10).answers}


def test_a_figure_that_moved_is_quoted_from_the_newest_report_first(hashed: Engine) -> None:
    result = hashed.ask("how many workers died in the Brackwater mill fire?")
    stated = [a for a in result.answers if "15 workers" in a.sentence or "Twelve workers" in a.sentence]
    assert [a.article.id for a in stated] == ["r-fire-toll", "r-fire-first"]
    assert result.answers[0].article.id == "r-fire-toll" and "15 workers" in result.answers[0].sentence


@pytest.mark.parametrize("question", [*CURRENT, "is the bus strike over?"])
def test_with_the_models_too(modelled: Engine, question: str) -> None:
    assert "r-bus-restart" not in first_stage_ids(modelled, question)
    result = modelled.ask(question)
    assert result.answered  # the story's own best quote vouches for its newest report
    assert story_order(result.answers) == STRIKE[: len(story_order(result.answers))]


@pytest.mark.parametrize(
    "question",
    [
        "how many workers were killed in the Brackwater fire?",
        "how many workers died in the fire at the Holloway Mill textile factory?",
    ],
)
def test_the_models_quote_the_toll_as_it_stands(modelled: Engine, question: str) -> None:
    result = modelled.ask(question)
    assert result.answered and "risen to 15 workers" in result.answers[0].sentence
    assert [(d.figure, d.answer, d.article.published) for d in result.differing] == [
        ("15", 0, "2024-10-04"),
        ("Twelve", 1, "2024-10-03"),
    ]
