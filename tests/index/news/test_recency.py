"""Time cues in questions, dates in articles, and the preference they give hand-made candidates: no
store, no model."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from index.core.settings import AnswerSettings
from index.news.recency import (
    Period,
    TimeCue,
    day_of,
    is_later,
    newer,
    newest_figure_first,
    outside_period,
    prefer,
    time_cue,
)
from index.news.stories import Stories
from index.search.answer import Ranked
from index.search.candidates import Candidates
from index.search.query import Query

NEWEST = date(2024, 5, 12)

STORY = AnswerSettings()  # the story relation as the settings have it by default


def cue(question: str) -> TimeCue | None:
    return time_cue(Query.read(question), lambda: NEWEST)


@pytest.mark.parametrize(
    "question",
    [
        "what's the latest on the ferry strike?",
        "is the ferry strike over?",
        "is it over yet",
        "are the crews still on strike?",
        "how much has the appeal raised so far?",
        "what happened yesterday at the port?",
        "who is in charge now?",
        "any news on the Skarra ferry?",
        "what did the union say this week?",
        "what happened next in the ferry strike?",
    ],
)
def test_questions_about_the_current_state(question: str) -> None:
    assert cue(question) == TimeCue(current=True)


@pytest.mark.parametrize(
    "question",
    [
        "what pay offer was rejected?",
        "who may win the contest?",  # "may" is no month without "in" or a year
        "what did protesters march for?",
        "how far over budget is the bridge?",  # "over" only ends an "is it over?"
        "what did the union say about the strike?",
    ],
)
def test_questions_without_a_time_cue(question: str) -> None:
    assert cue(question) is None


@pytest.mark.parametrize(
    ("question", "first", "last"),
    [
        ("who won the cup in 2005?", date(2005, 1, 1), date(2005, 12, 31)),
        ("who won the fa cup final in may 2005?", date(2005, 5, 1), date(2005, 5, 31)),
        ("what did the council vote for in February?", date(2024, 2, 1), date(2024, 2, 29)),
        ("what happened in June?", date(2023, 6, 1), date(2023, 6, 30)),  # the last June before May 2024
        ("how much did exports rise last year", date(2023, 1, 1), date(2023, 12, 31)),
        ("what did the council decide this year?", date(2024, 1, 1), date(2024, 12, 31)),
        ("what was agreed last month?", date(2024, 4, 1), date(2024, 4, 30)),
        ("who resigned last week?", date(2024, 4, 29), date(2024, 5, 5)),
    ],
)
def test_named_periods_count_from_the_newest_article(question: str, first: date, last: date) -> None:
    found = cue(question)
    assert found is not None and found.period is not None
    assert (found.period.first, found.period.last) == (first, last)


def test_a_period_names_itself_in_a_sentence() -> None:
    period = cue("who won in March 2005?").period  # type: ignore[union-attr]
    assert period is not None and period.named_in("The final, in March, was close.")
    assert not period.named_in("The final was close.")


def test_relative_periods_need_a_dated_corpus_and_ask_for_it_only_then() -> None:
    asked: list[str] = []

    def newest() -> date | None:
        asked.append("newest")
        return None

    assert time_cue(Query.read("how much did exports rise last year"), newest) is None
    assert time_cue(Query.read("who won in 2005?"), newest) == TimeCue(
        period=Period(date(2005, 1, 1), date(2005, 12, 31), frozenset({"2005"}))
    )
    assert asked == ["newest"]  # only the relative question needed the newest article's day


@pytest.mark.parametrize(
    ("published", "than", "later"),
    [
        ("2024-05-10", "2024-05-08", True),
        ("2024-05-08", "2024-05-10", False),
        ("2024-05-10T18:30:00+00:00", "2024-05-10T09:00:00+00:00", True),
        ("2024-05-10T18:30:00+00:00", "2024-05-10", False),  # a day alone: by the day
        ("2024-05-11", "2024-05-10T18:30:00+00:00", True),
        ("2024-05-10T20:00:00+02:00", "2024-05-10T18:30:00+00:00", False),  # 18:00 UTC
        (None, "2024-05-10", False),
        ("2024-05-10", None, False),
    ],
)
def test_is_later(published: str | None, than: str | None, later: bool) -> None:
    assert is_later(published, than) is later


def test_day_of_reads_iso_dates_and_datetimes_only() -> None:
    assert day_of("2024-05-10T23:30:00-05:00") == date(2024, 5, 10)  # the day it states
    assert day_of("2024-05-10") == date(2024, 5, 10)
    assert day_of("last week") is None and day_of(None) is None


class EvenRarity:
    """The term statistics `Stories` reads, every name as rare as another."""

    def idf(self, words: list[str]) -> np.ndarray:
        return np.ones(len(words))


STRIKE = np.asarray([1.0, 0.0], np.float32)
OTHER = np.asarray([0.0, 1.0], np.float32)


def candidates(*articles: tuple[str | None, str, np.ndarray]) -> Candidates:
    """One sentence per (published, text, vector) article, pks from 1."""
    rows, sentences = {}, []
    for pk, (published, text, _) in enumerate(articles, 1):
        rows[pk] = {"pk": pk, "id": f"a{pk}", "title": text, "source": "Gazette", "url": None,
                    "published": published, "text": text}  # fmt: skip
        sentences.append({"pk": pk, "article_pk": pk, "idx": 0, "start": 0, "end": len(text), "text": text})
    vectors = np.stack([vector for _, _, vector in articles])
    titles = {pk: vectors[pk - 1] for pk in rows}
    return Candidates(sentences, rows, vectors, titles, np.ones(len(rows), bool))


def order(found: list[Ranked]) -> list[int]:
    return [r.position for r in found]


RANKED = [Ranked(0, 3.0), Ranked(1, 2.0), Ranked(2, 1.0), Ranked(3, 0.5)]


def strike(*published: str | None) -> Candidates:
    """Three articles of one strike (dates as given) and, last, another story that is newer still."""
    texts = ["Crews at Northway Ferries voted to strike.", "Talks at Northway Ferries failed.",
             "The strike at Northway Ferries was called off."]  # fmt: skip
    return candidates(
        *zip(published, texts, [STRIKE] * 3, strict=True),
        ("2024-06-01", "Visitors at Dunmore Library rose.", OTHER),
    )


def test_the_current_state_puts_the_storys_newest_article_first() -> None:
    found = strike("2024-05-06", "2024-05-08", "2024-05-10")
    prefs = prefer(TimeCue(current=True), RANKED, found, Stories(found, EvenRarity(), STORY), 4)  # type: ignore[arg-type]
    assert order(prefs) == [2, 1, 0, 3]  # the strike's days newest first; the library's newer news last


def test_an_undated_story_keeps_its_ranking() -> None:
    found = strike(None, None, None)
    for cue_found in (TimeCue(current=True), cue("what did the crews vote for in 2024?")):
        prefs = prefer(cue_found, RANKED, found, Stories(found, EvenRarity(), STORY), 3)  # type: ignore[arg-type]
        assert prefs == RANKED[:3]


def test_a_named_period_moves_its_article_up_unless_the_best_quote_is_of_it() -> None:
    found = strike("2023-06-01", "2024-05-08", "2023-07-01")
    stories = Stories(found, EvenRarity(), STORY)  # type: ignore[arg-type]
    in_2024 = cue("what happened at Northway Ferries in 2024?")
    in_2023 = cue("what happened at Northway Ferries in 2023?")
    assert in_2024 is not None and in_2023 is not None
    assert order(prefer(in_2024, RANKED, found, stories, 4)) == [1, 0, 2, 3]
    assert prefer(in_2023, RANKED, found, stories, 4) == RANKED  # the best quote is of 2023 already


def test_a_quote_dated_outside_the_period_asked_for_that_does_not_name_it_answers_nothing() -> None:
    """ "in 2023" binds the first quote: a report of 2024 that never says 2023 is refused, one of 2023
    or one naming 2023 (itself or a neighbour) is not, and an undated report is left to the rule."""
    asked = cue("what did the crews vote for in 2023?")
    found = strike("2024-05-06", "2023-05-08", None)
    assert outside_period(asked, Ranked(0, 1.0), found)
    assert not outside_period(asked, Ranked(1, 1.0), found)  # of 2023
    assert not outside_period(asked, Ranked(2, 1.0), found)  # undated
    assert not outside_period(cue("what did the crews vote for?"), Ranked(0, 1.0), found)
    named = candidates(("2024-05-06", "Crews voted to strike.", STRIKE))
    named.sentences.append({"pk": 9, "article_pk": 1, "idx": 1, "start": 0, "end": 9, "text": "As in 2023."})
    assert not outside_period(asked, Ranked(0, 1.0), named)  # the next sentence names it


def test_stories_join_one_subject_with_the_same_names_only() -> None:
    found = candidates(
        ("2024-05-06", "Crews at Northway Ferries voted to strike.", STRIKE),
        ("2024-05-08", "Talks at Northway Ferries failed.", STRIKE),
        ("2024-05-09", "Crews at Skarra Sea Lines voted to strike.", STRIKE),  # the same words, other names
        ("2024-05-10", "The library at Northway Ferries opened.", OTHER),  # the same names, another subject
    )
    stories = Stories(found, EvenRarity(), STORY)  # type: ignore[arg-type]
    assert stories.of(1) == [1, 2]
    assert newer(1, found, stories) == [2]


def fire(first: str | None, then: str | None) -> Candidates:
    """A toll of 12 (published ``first``), then 15 (``then``), and another story's figure last."""
    return candidates(
        (first, "Twelve workers died in the Holloway Mill fire.", STRIKE),
        (then, "The Holloway Mill toll has risen to 15 workers.", STRIKE),
        ("2024-10-05", "Forty workers at Dunmore Library went home.", OTHER),
    )


def test_a_figure_that_moved_is_quoted_from_the_storys_newest_report_first() -> None:
    question = Query.read("how many workers died in the mill fire?")
    ranked = RANKED[:3]
    found = fire("2024-10-03", "2024-10-04")
    stories = Stories(found, EvenRarity(), STORY)  # type: ignore[arg-type]
    assert order(newest_figure_first(question, ranked, found, stories)) == [1, 0, 2]
    older_last = fire("2024-10-04", "2024-10-03")  # the first quote is the newest report's already
    assert (
        newest_figure_first(question, ranked, older_last, Stories(older_last, EvenRarity(), STORY)) == ranked
    )  # type: ignore[arg-type]
    for unknown in (fire(None, None), fire("2024-10-03", "2024-10-03")):  # no report newer than the other
        assert newest_figure_first(question, ranked, unknown, Stories(unknown, EvenRarity(), STORY)) == ranked  # type: ignore[arg-type]
    asks_none = Query.read("where did the fire start?")
    assert newest_figure_first(asks_none, ranked, found, stories) == ranked
