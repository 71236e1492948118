"""Votes on quotes (👍 +1 / 👎 -1), kept so that they can join the evaluation.

A vote is stored with the question, the quoted sentence (its article's id and scope, and its text:
sentence rows are renumbered when an article is ingested again, the text and article id are not),
the server it was cast in and a salted SHA-256 of the voter, never their Discord id. The hash only
tells one voter's votes apart, so that voting again replaces a vote; the salt is made at random once
per data dir, so the hashes of one data dir match nothing in another.

`export` writes the questions in the eval format (../shared/eval/README.md, `index/features/evaluate.py`): a
👍 gives its sentence as an answer (the whole sentence: eval looks for the answer string inside the
returned sentence, so only that sentence matches). A 👎 only says what is wrong, not what is right,
nor that the news cannot answer: it takes its sentence out of the answers, and a question with no
sentence voted up on balance is left out rather than written as unanswerable.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from index.core.dates import now_iso
from index.search.answer import Answer
from index.storage.store import Store

SALT_KEY = "feedback_salt"
UP, DOWN = 1, -1
KIND = "feedback"  # the questions' `kind`, so that eval reports them apart


@dataclass(frozen=True)
class Vote:
    question: str
    article_id: str
    article_scope: str | None  # the quoted article's scope: None for shared news
    sentence: str
    vote: int
    guild_id: str | None  # where it was cast: None in direct messages
    user_hash: str
    voted_at: str


@dataclass(frozen=True)
class ExportReport:
    questions: int  # written
    answers: int  # sentences written as answers
    down_only: int  # questions left out: no sentence voted up on balance


def _fold(question: str) -> str:
    """One question however it was capitalised or spaced."""
    return " ".join(question.casefold().split())


class Feedback:
    """The votes in the engine's store (its ``feedback`` table)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def user_hash(self, user_id: int) -> str:
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()

    @cached_property
    def _salt(self) -> str:
        with self.store.transaction():  # the first of two racing processes makes it; both read it
            self.store.execute(
                "INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)", [SALT_KEY, secrets.token_hex(16)]
            )
            salt = self.store.get_setting(SALT_KEY)
        assert salt is not None
        return salt

    def record(self, question: str, answer: Answer, vote: int, user_id: int, guild_id: int | None) -> None:
        """``user_id``'s vote on ``answer`` to ``question``, replacing any vote of theirs on it."""
        if vote not in (UP, DOWN):
            raise ValueError(f"a vote is {UP} or {DOWN}, not {vote!r}")
        row = [
            question,
            answer.article.id,
            answer.article.scope,
            answer.sentence,
            vote,
            None if guild_id is None else str(guild_id),
            self.user_hash(user_id),
            now_iso(),
        ]
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO feedback (question, article_id, article_scope, sentence, vote, guild_id, "
                "user_hash, voted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (user_hash, question, article_id, coalesce(article_scope, ''), sentence) "
                "DO UPDATE SET vote = excluded.vote, guild_id = excluded.guild_id, "
                "voted_at = excluded.voted_at",
                row,
            )

    def votes(self, scope: str | None = None) -> list[Vote]:
        """The votes on quotes from shared news and ``scope``'s own (what an eval in that scope can
        quote), oldest first."""
        rows = self.store.query(
            "SELECT question, article_id, article_scope, sentence, vote, guild_id, user_hash, voted_at "
            "FROM feedback WHERE article_scope IS NULL OR article_scope = ? ORDER BY voted_at, pk",
            [scope],
        )
        return [Vote(**row) for row in rows]

    def export(self, path: Path, scope: str | None = None) -> ExportReport:
        """The votes of `votes` (``scope``) as an eval questions file, one line per question."""
        by_question: dict[str, list[Vote]] = defaultdict(list)
        for vote in self.votes(scope):
            by_question[_fold(vote.question)].append(vote)
        lines, answers, down_only = [], 0, 0
        for folded, votes in by_question.items():
            balance: dict[tuple[str, str], int] = defaultdict(int)  # (article id, sentence) -> net votes
            for vote in votes:
                balance[vote.article_id, vote.sentence] += vote.vote
            up = sorted((key for key, net in balance.items() if net > 0), key=lambda k: -balance[k])
            if not up:
                down_only += 1
                continue
            answers += len(up)
            article, sentence = up[0]
            lines.append(
                {
                    "id": f"{KIND}/{hashlib.sha256(folded.encode()).hexdigest()[:12]}",
                    "question": votes[0].question,
                    "answers": [text for _, text in up],
                    "article": article,
                    "sentence": sentence,
                    "kind": KIND,
                }
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
        return ExportReport(len(lines), answers, down_only)
