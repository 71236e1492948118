"""An answer's annotations: its deep link, its story's newer coverage (never its own wire copies), the
outlets that carried it, and differing figures only for an answer that is vouched for."""

from __future__ import annotations

import numpy as np

from index.core.models import ArticleIn, Reported
from index.engine import Engine
from index.news.annotations import annotate
from index.news.links import deep_link
from index.search.answer import Answer, AskResult, article_ref
from index.search.candidates import Candidates
from index.search.query import Query

BELL = "The old bell rang again on Sunday after forty years of silence. Crowds gathered in the square."
LATER = "The bell will be recast for £5m, the council said on Friday. Work starts next year."


class OneStory:
    """Every article is of one story (what `Stories` would find for these)."""

    def same(self, a: int, b: int) -> bool:
        return True


def _stored(engine: Engine) -> tuple[dict[str, int], Candidates]:
    """The bell's story, its wire copy (published later), and the story's later news; as candidates."""

    def article(id: str, title: str, text: str, source: str, host: str, day: int) -> ArticleIn:
        url = f"https://{host}/{title.lower()}"
        return ArticleIn(title, text, id=id, source=source, url=url, published=f"2024-05-{day:02d}")

    engine.ingest(
        [
            article("bell", "Bell", BELL, "Gazette", "g.example", 8),
            article("copy", "Bell", BELL, "Courier", "c.example", 10),
            article("later", "Recast", LATER, "Gazette", "g.example", 12),
        ]
    )
    rows = engine.store.query("SELECT pk, id, title, source, url, published, text FROM articles")
    articles = {row["pk"]: row for row in rows}
    return {row["id"]: row["pk"] for row in rows}, Candidates(
        [], articles, np.zeros((0, 2)), {}, np.zeros(0, bool)
    )


def _answer(row: dict, sentence: str) -> Answer:
    return Answer(sentence, sentence, 1.0, article_ref(row), sentence)


def test_an_answer_links_to_its_quote_and_names_newer_news_and_its_outlets(hash_engine: Engine) -> None:
    pks, candidates = _stored(hash_engine)
    sentence = BELL.split(". ")[0] + "."
    result = AskResult("when did the bell ring?", True, [_answer(candidates.articles[pks["bell"]], sentence)])
    annotate(result, Query.read(result.question), [pks["bell"]], candidates, OneStory(), hash_engine.store)  # type: ignore[arg-type]
    answer = result.answers[0]
    assert answer.link == deep_link("https://g.example/bell", sentence) and "#:~:text=" in answer.link
    assert [a.id for a in answer.newer] == ["later"]  # the Courier's copy is the same news, not newer
    assert answer.reported_by == Reported(2, "2024-05-08")
    assert result.differing == []  # it asks for no figure


def test_differing_figures_only_for_an_answer_vouched_for(hash_engine: Engine) -> None:
    pks, candidates = _stored(hash_engine)
    question = "how much will the bell cost?"
    for answered, expected in ((True, ["£4m", "£5m"]), (False, [])):
        answers = [
            _answer(candidates.articles[pks["bell"]], "The bell cost £4m."),
            _answer(candidates.articles[pks["later"]], "The bell will be recast for £5m."),
        ]
        result = AskResult(question, answered, answers)
        annotate(
            result,
            Query.read(question),
            [pks["bell"], pks["later"]],
            candidates,
            OneStory(),  # type: ignore[arg-type]
            hash_engine.store,
        )
        assert [d.figure for d in result.differing] == expected
        assert result.answers[1].reported_by is None  # the recast was carried by one outlet only
