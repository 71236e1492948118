"""Votes on quotes: stored with a hash of the voter, never their id, and exported as eval questions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.models import ArticleRef
from index.features.evaluate import contains_answer, load_questions
from index.features.feedback import DOWN, UP, Feedback
from index.search.answer import Answer
from index.storage.store import SCHEMA_VERSION, Store

ALICE, BOB, CAROL = 412345678901234567, 498765432109876543, 433333333333333333
QUESTION = "Who warned ships?"
COAST_GUARD = "They instructed the Japanese coast guard to warn ships within the country on falling debris."
MINISTRY = "The launch was also detected by Japan's Prime Minister's Office and Defense Ministry."


def _answer(sentence: str, article: str = "nk-missile", scope: str | None = None) -> Answer:
    ref = ArticleRef(article, "North Korea fires missiles", "Gazette", None, "2024-03-01", scope=scope)
    return Answer(sentence=sentence, quote=sentence, score=1.0, article=ref, context=sentence)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "newsbot.db")
    yield store
    store.close()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_vote_is_stored_with_a_salted_hash_of_the_voter_and_never_their_id(store: Store) -> None:
    feedback = Feedback(store)
    feedback.record(QUESTION, _answer(COAST_GUARD), UP, ALICE, guild_id=42)
    feedback.record(QUESTION, _answer(MINISTRY), DOWN, BOB, guild_id=None)
    alice, bob = feedback.votes()
    assert (alice.question, alice.article_id, alice.sentence, alice.vote) == (
        QUESTION,
        "nk-missile",
        COAST_GUARD,
        UP,
    )
    assert (alice.guild_id, bob.guild_id, bob.vote) == ("42", None, DOWN)
    salt = store.get_setting("feedback_salt")
    assert salt and len(salt) == 32
    assert alice.user_hash == hashlib.sha256(f"{salt}:{ALICE}".encode()).hexdigest() != bob.user_hash
    assert alice.user_hash != hashlib.sha256(str(ALICE).encode()).hexdigest()  # salted
    rows = store.query("SELECT * FROM feedback")
    assert all(str(user) not in json.dumps(rows) for user in (ALICE, BOB))


def test_the_salt_is_made_once_per_data_dir(store: Store, tmp_path: Path) -> None:
    first = Feedback(store).user_hash(ALICE)
    assert Feedback(store).user_hash(ALICE) == first  # the same voter is one voter
    other = Store(tmp_path / "other" / "newsbot.db")
    try:
        assert Feedback(other).user_hash(ALICE) != first  # another data dir's hashes match nothing here
    finally:
        other.close()


def test_voting_again_replaces_the_vote(store: Store) -> None:
    feedback = Feedback(store)
    feedback.record(QUESTION, _answer(COAST_GUARD), UP, ALICE, guild_id=42)
    feedback.record(QUESTION, _answer(COAST_GUARD), DOWN, ALICE, guild_id=42)
    assert [v.vote for v in feedback.votes()] == [DOWN]
    with pytest.raises(ValueError, match="a vote is 1 or -1"):
        feedback.record(QUESTION, _answer(COAST_GUARD), 2, ALICE, guild_id=42)


def test_export_writes_eval_questions_from_the_votes_up(store: Store, tmp_path: Path) -> None:
    feedback = Feedback(store)
    feedback.record(QUESTION, _answer(COAST_GUARD), UP, ALICE, guild_id=42)
    feedback.record("who  warned ships?", _answer(COAST_GUARD), UP, BOB, guild_id=43)  # the same question
    feedback.record(QUESTION, _answer(MINISTRY), UP, CAROL, guild_id=42)
    feedback.record(QUESTION, _answer(MINISTRY), DOWN, ALICE, guild_id=42)  # on balance, not voted up
    feedback.record("Is the strike over?", _answer("The strike goes on.", "strike"), DOWN, ALICE, None)
    path = tmp_path / "out" / "feedback.jsonl"

    report = feedback.export(path)

    assert (report.questions, report.answers, report.down_only) == (1, 1, 1)
    (line,) = _lines(path)
    assert line == {
        "id": line["id"],
        "question": QUESTION,
        "answers": [COAST_GUARD],
        "article": "nk-missile",
        "sentence": COAST_GUARD,
        "kind": "feedback",
    }
    assert line["id"].startswith("feedback/")
    (question,) = load_questions(path)  # what `newsbot eval` reads
    assert question.answers == [COAST_GUARD] and question.article == "nk-missile"
    assert contains_answer(COAST_GUARD, question.answers) and not contains_answer(MINISTRY, question.answers)


def test_export_keeps_a_servers_own_articles_to_that_servers_eval(store: Store, tmp_path: Path) -> None:
    feedback = Feedback(store)
    feedback.record(QUESTION, _answer(COAST_GUARD), UP, ALICE, guild_id=7)
    feedback.record("What did the club say?", _answer("We back the crews.", "club", "7"), UP, ALICE, 7)
    shared, own, other = tmp_path / "shared.jsonl", tmp_path / "7.jsonl", tmp_path / "8.jsonl"
    feedback.export(shared)
    feedback.export(own, scope="7")
    feedback.export(other, scope="8")
    assert [line["article"] for line in _lines(shared)] == ["nk-missile"]
    assert [line["article"] for line in _lines(own)] == ["nk-missile", "club"]
    assert _lines(other) == _lines(shared)


def test_a_data_dir_made_before_feedback_gets_the_table(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.db"
    Store(path).close()
    with sqlite3.connect(path) as db:  # as a data dir of this schema made before votes
        db.execute("DROP TABLE feedback")
        db.execute("PRAGMA user_version = 0")  # and before numbered migrations
    store = Store(path)
    try:
        assert store.get_setting("schema_version") == str(SCHEMA_VERSION) and store.readable
        Feedback(store).record(QUESTION, _answer(COAST_GUARD), UP, ALICE, guild_id=None)
        assert store.count("feedback") == 1
    finally:
        store.close()
