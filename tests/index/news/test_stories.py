"""The story relation over hand-made candidates: direction and names together, names weighed by rarity."""

from __future__ import annotations

import numpy as np

from index.core.settings import AnswerSettings
from index.news.stories import Stories
from index.search.candidates import Candidates

STRIKE = np.asarray([1.0, 0.0, 0.0], np.float32)
LEANING = np.asarray([0.6, 0.8, 0.0], np.float32)  # cosine 0.6 with STRIKE: just close enough
OTHER = np.asarray([0.0, 0.0, 1.0], np.float32)

STORY = AnswerSettings()  # the story relation as the settings have it by default


class Rarity:
    """The term statistics `Stories` reads: each name's idf as given, else 1."""

    def __init__(self, **idf: float) -> None:
        self.given = idf
        self.asked: list[list[str]] = []

    def idf(self, words: list[str]) -> np.ndarray:
        self.asked.append(words)
        return np.asarray([self.given.get(w, 1.0) for w in words])


def candidates(*articles: list[tuple[str, np.ndarray]]) -> Candidates:
    """Articles (pks from 1) of (text, vector) sentences."""
    rows, sentences, vectors = {}, [], []
    for pk, article in enumerate(articles, 1):
        rows[pk] = {"pk": pk, "title": article[0][0], "text": " ".join(t for t, _ in article)}
        for idx, (text, vector) in enumerate(article):
            sentences.append({"pk": len(sentences), "article_pk": pk, "idx": idx, "text": text})
            vectors.append(vector)
    titles = {pk: np.asarray(vectors[0]) for pk in rows}
    return Candidates(sentences, rows, np.stack(vectors), titles, np.ones(len(sentences), bool))


def test_names_are_capitalised_words_past_a_sentences_first_less_days_and_months() -> None:
    found = candidates(
        [("Crews at Northway Ferries struck on Monday in May.", STRIKE), ("The RMT said so.", STRIKE)]
    )
    assert Stories(found, Rarity(), STORY).names(1) == {"northway", "ferries", "rmt"}  # type: ignore[arg-type]


def test_the_centroid_is_the_unit_mean_of_the_articles_sentences() -> None:
    found = candidates([("One.", STRIKE), ("Two.", OTHER)])
    centroid = Stories(found, Rarity(), STORY).centroid(1)  # type: ignore[arg-type]
    assert np.allclose(centroid, [2**-0.5, 0.0, 2**-0.5])


def test_one_story_needs_both_the_direction_and_the_names() -> None:
    found = candidates(
        [("Crews at Northway Ferries voted to strike.", STRIKE)],
        [("Talks at Northway Ferries failed.", LEANING)],  # close enough, the same names
        [("Crews at Skarra Lines voted to strike.", STRIKE)],  # the same direction, other names
        [("The Dunmore library at Northway Ferries opened.", OTHER)],  # the same names, elsewhere
    )
    rarity = Rarity()
    stories = Stories(found, rarity, STORY)  # type: ignore[arg-type]
    assert stories.same(1, 1) and stories.same(1, 2) and stories.same(2, 1)
    assert not stories.same(1, 3) and not stories.same(1, 4)
    assert stories.of(2) == [2, 1]  # itself first
    assert not any("dunmore" in words for words in rarity.asked)  # pairs far apart ask no rarity


def test_a_shared_common_name_does_not_make_one_story() -> None:
    found = candidates(
        [("Crews at Northway Ferries voted to strike.", STRIKE)],
        [("Crews at Skarra Ferries voted to strike.", STRIKE)],
    )
    assert Stories(found, Rarity(), STORY).same(1, 2)  # type: ignore[arg-type]  # half the names, evenly weighed
    stricter = AnswerSettings(story_names=0.6)
    assert not Stories(found, Rarity(), stricter).same(1, 2)  # type: ignore[arg-type]  # half is too few now
    rare = Rarity(northway=3.0, skarra=3.0, ferries=0.1)
    assert not Stories(found, rare, STORY).same(1, 2)  # type: ignore[arg-type]  # "ferries" is in most articles


def test_a_later_report_brought_in_by_its_names_is_of_the_story_it_follows() -> None:
    found = candidates(
        [("Crews at Northway Ferries voted to strike.", STRIKE)],
        [("Talks at Northway Ferries failed.", LEANING)],
        [("Sailings to Brae restart on Friday.", OTHER)],  # other words, other direction: no story alone
    )
    assert not Stories(found, Rarity(), STORY).same(2, 3)  # type: ignore[arg-type]
    following = Stories(found, Rarity(), STORY, follows={3: 1})  # type: ignore[arg-type]
    assert following.same(3, 1) and following.same(2, 3) and following.of(2) == [2, 1, 3]
