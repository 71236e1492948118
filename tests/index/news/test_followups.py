"""A running story's later reports brought in by their names, over our own bus strike
(tests/fixtures/running) with the hash vectors: which come in, which stay out, and how little is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.news.followups import RAREST_NAMES, Followed, LaterReports
from index.storage.store import Filters

RUNNING = Path(__file__).resolve().parents[2] / "fixtures" / "running" / "articles.jsonl"
QUESTION = "is the Marrick bus strike over?"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The hash vectors, reading three stories a question: the strike's three reports that name it."""
    settings = Settings(data_dir=tmp_path / "data", model="hash", rerank=False, max_stories=3, _env_file=None)
    engine = Engine(settings)
    assert engine.ingest_paths([RUNNING]).new == 8
    yield engine
    engine.close()


def followed(engine: Engine, filters: Filters | None = None, **settings: int) -> Followed:
    """The question's first stage and rerank, then the later reports of its best quote's story, with
    these settings changed."""
    questions = engine.questions
    query = questions.queries([QUESTION])[0]
    candidates, first = questions.first_stage(query, filters, engine.settings.max_stories)
    parts = engine.questions.parts
    changed = engine.settings.model_copy(update=settings)
    later = LaterReports(parts.store, parts.finder, parts.evidence, parts.term_stats, changed)
    return later.bring_in(query, filters, candidates, questions.reranked(query, candidates, first))


def ids(engine: Engine, pks: object) -> set[str]:
    rows = engine.store.query("SELECT pk, id FROM articles")
    return {row["id"] for row in rows if row["pk"] in pks}  # type: ignore[operator]


def test_the_report_in_other_words_joins_as_of_the_story_and_below_every_candidate(engine: Engine) -> None:
    found = followed(engine)
    assert ids(engine, found.follows) == {"r-bus-restart"}  # not the town's market hall, nor November's route
    assert ids(engine, found.follows.values()) <= {"r-bus-vote", "r-bus-begins", "r-bus-talks"}
    joined = [i for i, s in enumerate(found.candidates.sentences) if s["article_pk"] in found.follows]
    others = [i for i in range(len(found.candidates.sentences)) if i not in joined]
    assert joined and found.reranked.scores[joined].max() < found.reranked.scores[others].min()
    assert found.candidates.features.shape == (
        len(found.candidates.sentences),
        found.candidates.features.shape[1],
    )


def test_only_a_bounded_query_for_the_rarest_names_of_the_window_is_made(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[list[str], Filters, int]] = []
    store = engine.questions.parts.store
    search = store.keyword_stories
    monkeypatch.setattr(store, "keyword_stories", lambda *args: asked.append(args) or search(*args))
    followed(engine)
    first_stage, (names, window, limit) = asked  # the first stage's BM25, then one for the later reports
    assert first_stage[1] == Filters()
    assert 0 < len(names) <= RAREST_NAMES
    assert window.since in {"2024-09-02", "2024-09-05", "2024-09-07"} and window.until <= "2024-09-21"
    assert limit <= 10 * (engine.settings.story_follow_articles + engine.settings.max_stories)


def test_the_cap_and_the_window_bound_what_is_brought_in(engine: Engine) -> None:
    engine.ingest(
        [
            ArticleIn(f"Update {n}", f"Fenella Quayle met Rhodri Penhale of Velloway in Marrick on day {n}.",
                      id=f"r-extra-{n}", published=f"2024-09-1{n}")
            for n in (1, 2, 3)
        ]
    )  # fmt: skip
    found = followed(engine)
    assert {found.candidates.articles[pk]["id"] for pk in found.follows.values()} == {"r-bus-begins"}  # 09-05
    assert len(found.follows) == 4 < engine.settings.story_follow_articles  # all four in
    assert len(followed(engine, story_follow_articles=2).follows) == 2
    assert ids(engine, followed(engine, story_follow_days=6).follows) == {"r-bus-restart", "r-extra-1"}
    assert followed(engine, story_follow_days=0).follows == {}


def test_the_questions_own_filters_narrow_the_window(engine: Engine) -> None:
    assert followed(engine, Filters(until="2024-09-09")).follows == {}
    assert followed(engine, Filters(outlet="Marrick Echo")).follows == {}  # the report is the Courier's


def test_a_servers_own_news_is_never_brought_into_shared_news(engine: Engine) -> None:
    restart = "UPDATE articles SET scope = '42' WHERE id = 'r-bus-restart'"
    with engine.store.transaction():
        engine.store.execute(restart)
    assert followed(engine).follows == {}
    assert ids(engine, followed(engine, Filters(scope="42")).follows) == {"r-bus-restart"}


def test_an_undated_story_reads_nothing_more(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with engine.store.transaction():
        engine.store.execute("UPDATE articles SET published = NULL")
    asked: list[Filters] = []
    store = engine.questions.parts.store
    search = store.keyword_stories
    monkeypatch.setattr(store, "keyword_stories", lambda *args: asked.append(args[1]) or search(*args))
    assert followed(engine).follows == {}
    assert asked == [Filters()]  # the first stage's search alone
