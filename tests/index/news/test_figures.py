"""Conflicting figures among the top answers, from hand-made answers: no store, no model."""

from __future__ import annotations

import pytest

from index.core.models import ArticleRef
from index.news.figures import differing
from index.search.answer import Answer
from index.search.query import Query

DAY_ONE = ArticleRef("a1", "Ferry crews to strike", "Harbour Gazette", "https://g.example/1", "2024-05-06")
DAY_TWO = ArticleRef("a2", "Talks to avert strike", "Coast Times", "https://c.example/2", "2024-05-08")


def answers(*sentences: tuple[str, ArticleRef]) -> list[Answer]:
    return [Answer(text, text, 1.0, article, text) for text, article in sentences]


def one_story(a: int, b: int) -> bool:
    return True


def test_two_articles_counting_the_asked_noun_differently_are_both_shown() -> None:
    found = differing(
        Query.read("how many crew will join the strike?"),
        answers(
            ("The union said 350 crew would join the strike.", DAY_TWO),
            ("Crews rejected a 3% offer on Monday.", DAY_ONE),  # a share, not a count of crew
            ("About 300 crew members are expected to walk out.", DAY_ONE),
        ),
        [2, 1, 1],
        one_story,
    )
    assert [(d.figure, d.answer, d.article.id) for d in found] == [("350", 0, "a2"), ("300", 2, "a1")]
    assert found[0].to_dict() == {
        "figure": "350", "answer": 0, "title": "Talks to avert strike", "source": "Coast Times",
        "url": "https://c.example/2", "published": "2024-05-08",
    }  # fmt: skip


def test_amounts_are_compared_by_value() -> None:
    question = "how much will the harbour wall cost?"
    same = answers(("The wall will cost £4m.", DAY_ONE), ("Its cost is put at £4 million.", DAY_TWO))
    assert differing(Query.read(question), same, [1, 2], one_story) == []
    other = answers(("The wall will cost £4m.", DAY_ONE), ("It is now expected to cost £5.5m.", DAY_TWO))
    assert [d.figure for d in differing(Query.read(question), other, [1, 2], one_story)] == ["£4m", "£5.5m"]


@pytest.mark.parametrize(
    ("question", "sentences", "pks", "same_story"),
    [
        # one article: a story's own figures are no disagreement between sources
        ("how many crew will strike?", ["300 crew will strike.", "Later 350 crew said so."], [1, 1], True),
        # different stories: two islands' populations do not conflict
        ("how many people live there?", ["400 people live on Skarra.", "900 people on Brae."], [1, 2], False),
        # not a question about a quantity
        ("who will strike?", ["300 crew will strike.", "350 crew will strike."], [1, 2], True),
        # a number the question states is no answer to it
        ("how many of the 300 crew strike?", ["300 crew will strike.", "Of 300 crew, most."], [1, 2], True),
        # a year is no count of crew
        ("how many crew walked out?", ["In 2019 crew walked out.", "300 crew walked out."], [1, 2], True),
    ],
)  # fmt: skip
def test_no_differing_figures(question: str, sentences: list[str], pks: list[int], same_story: bool) -> None:
    listed = answers(
        *((text, DAY_ONE if pk == 1 else DAY_TWO) for text, pk in zip(sentences, pks, strict=True))
    )
    assert differing(Query.read(question), listed, pks, lambda a, b: same_story) == []


def test_only_the_top_answers_are_compared() -> None:
    listed = answers(
        ("300 crew will strike.", DAY_ONE),
        ("Passengers were told to check sailings.", DAY_TWO),
        ("Sailings will stop.", DAY_TWO),
        ("The union said 350 crew would strike.", DAY_TWO),  # fourth: not among those a reader sees first
    )
    assert differing(Query.read("how many crew will strike?"), listed, [1, 2, 2, 2], one_story) == []
