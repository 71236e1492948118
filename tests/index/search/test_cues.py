"""The lexical cues the scorer uses: what a question asks for, and what a sentence offers."""

import re
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import TEXT

from index.search.cues import (
    AMOUNT,
    NUMBER,
    answer_type,
    asks_amount,
    asks_current,
    has_answer_type,
    head_term,
    numbers,
    terms,
    topic,
    withheld,
)
from index.storage.store import fts_match


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many people over 100 are there in Japan?", "people over 100 are there in Japan"),
        ("who is the welsh culture minister?", "the welsh culture minister"),
        ("What's the ferry's new timetable", "the ferry's new timetable"),
        ("when did the bridge open", "the bridge open"),
        ("Who warned ships?", "warned ships"),
        ("ferry strike latest", "ferry strike latest"),  # not a question: all topic
        ("Why?", "Why"),  # nothing left: the question itself
    ],
)
def test_topic_drops_the_asking_words(question, expected):
    assert topic(question) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("which club did Bennett play for?", "club"),
        ("what prize did she win in 2003", "prize"),
        ("How many islanders voted?", "islanders"),
        ("what is the price", None),  # "is" is no noun
        ("who won the choir contest?", None),
        ("what mp3 player did they pick?", "mp3"),  # split as FTS5 splits it
        ("which 2005 film won?", None),  # a number is no noun
    ],
)
def test_head_term_is_the_noun_asked_for(question, expected):
    assert head_term(question) == expected
    if expected:
        assert expected in terms(question)  # so its presence column can be read


def test_amount_questions_and_sentences():
    assert asks_amount("how much will the bridge cost?")
    assert asks_amount("How far did shares fall?")
    assert asks_amount("what share of voters backed it")
    assert not asks_amount("how many people live there?")
    assert not asks_amount("who paid for it?")
    for sentence in ("It will cost £3.2m.", "Shares plunged 20%.", "Sales hit $5bn.", "a 3 per cent rise"):
        assert AMOUNT.search(sentence), sentence
    assert not AMOUNT.search("About 400 people live there.")


def test_number_words_include_teens_tens_and_ordinals():
    text = "the nineteenth month, sixty-five votes, fourteen boats and the fortieth year"
    assert NUMBER.findall(text) == ["nineteenth", "sixty", "five", "fourteen", "fortieth"]
    assert not NUMBER.search("plenty of often-seen fortresses")


def test_answer_type_asks_for_something_new():
    assert answer_type("how long has the ferry been out?") == "number"
    assert has_answer_type("It is the nineteenth month in a row.", "number", "how long has it been?")
    assert not has_answer_type("About 400 people live there.", "number", "do 400 people live there?")
    assert answer_type("when did the bridge open") == "date"
    assert answer_type("which club") == "name"
    assert answer_type("why did it stop?") is None


def test_numbers_are_read_as_written_in_digits():
    assert numbers("In 2005, 1,000 fans paid £3.5m; 12 stayed.") == {"2005", "1000", "3.5", "12"}
    assert numbers("no digits at all") == set()


@given(TEXT)
@settings(max_examples=300, deadline=None)
def test_any_question_gives_an_fts_query_that_sqlite_accepts(question):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(text, tokenize='porter')")
    db.execute("INSERT INTO s VALUES ('the coast guard warned ships'), (?)", [question.replace("\ud800", "")])
    match = fts_match(terms(question))
    if match is None:
        assert not terms(question)
    else:
        assert match.count('"') == 2 * len(terms(question))  # every term quoted, nothing else is syntax
        db.execute("SELECT rowid FROM s WHERE s MATCH ? ORDER BY rank", [match]).fetchall()


# The pattern `asks_current` replaced (issue 29): quadratic on "is is is ..." and on punctuation runs, so
# now code, which must answer exactly as it did.
_OLD_CURRENT = re.compile(
    r"\b(?:latest|newest|most recent|recent(?:ly)?|now|currently|still|so far|to date|yet|at the moment|"
    r"at present|this week|today|tonight|yesterday|any (?:news|updates?)|updates? on)\b"
    r"|\b(?:is|are|was|has|have)\b.*\b(?:over|ended|finished|settled|resolved)\W*$",
    re.I,
)
_CURRENT_PIECES = st.sampled_from(
    ["is", "Has", "was", " ", "over", "ENDED", "resolved", "take", "x", "_", "!", "?", ".", "\n", "é", "now"]
)


@given(st.lists(_CURRENT_PIECES, max_size=10).map("".join))
@settings(max_examples=500, deadline=None)
def test_asks_current_answers_as_the_old_pattern(question):
    assert asks_current(question) == bool(_OLD_CURRENT.search(question))


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # the asked-for kind said to be kept back, none of it stated
        (
            "how much did ask jeeves pay for bloglines",
            "How much Ask Jeeves paid for Bloglines was not revealed.",
            True,
        ),
        ("what fee did norwich pay for stuart", "Norwich signed Stuart for an undisclosed fee.", True),
        ("when is the psp out in europe", "There is no date for the PSP's release in Europe yet.", True),
        (
            "whats the name of the woman suing hp",
            "The unnamed woman says a chip tells the printer to refill.",
            True,
        ),
        ("who leaked the memo", "The official who leaked it has not been named.", True),
        ("who leaked the memo", "The paper declined to name its source.", True),
        ("how much will it cost", "The cost has not been made public.", True),
        ("when will the vote be", "A date is yet to be set.", True),
        # another kind kept back: the sentence still answers what was asked
        ("who did norwich sign", "Norwich signed Stuart for an undisclosed fee.", False),
        ("who bought the club", "Mr Glazer bought the club for a sum not disclosed.", False),
        # one of the kind stated beside it: an answer, not a gap
        ("how much did x pay", "X paid £5m, though other terms were not disclosed.", False),
        ("when will it open", "It opens in May; the price has not been revealed.", False),
        # no kind asked for, or nothing kept back
        ("what did the firm say", "The terms were not disclosed.", False),
        ("how much did ask jeeves pay for bloglines", "Ask Jeeves paid $1.2m for Bloglines.", False),
    ],
)
def test_a_sentence_saying_the_asked_for_kind_was_kept_back_is_withheld(question, sentence, expected):
    assert withheld(sentence, question) == expected
