"""A question as every stage reads it: its text parsed once into the cues the stages weigh (terms,
the kind of answer asked for, the noun asked about, numbers, whether it asks for the current state),
with its embeddings. Each stage used to re-derive these from the text; now none parses it again."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.search import cues


def _no_vector() -> np.ndarray:
    return np.zeros(0, np.float32)


@dataclass(frozen=True)
class Query:
    """A question's text, its cues and its embeddings. Made by `Query.read`; the embeddings are empty
    for a query only parsed (a test, a tool that reads the cues alone)."""

    text: str
    terms: tuple[str, ...]  # every content word, as FTS5 splits them (`cues.terms`): the BM25 query
    content_terms: tuple[str, ...]  # those a quote should cover: less "latest", "now" when `current`
    kind: str | None  # 'number', 'date' or 'name' (`cues.answer_type`)
    head: str | None  # the noun asked for, when it is a content term ("which club" gives "club")
    counted: str | None  # the noun a "how many" question counts ("how many crew" gives "crew")
    amount: bool  # asks how much / how far / what share (`cues.asks_amount`)
    numbers: frozenset[str]  # the numbers it writes in digits (`cues.numbers`)
    current: bool  # asks for the state of things now (`cues.asks_current`)
    # The embeddings of the question and of its topic (`cues.topic`).
    vec: np.ndarray = field(default_factory=_no_vector, compare=False, repr=False)
    topic_vec: np.ndarray = field(default_factory=_no_vector, compare=False, repr=False)

    @classmethod
    def read(cls, text: str, vec: np.ndarray | None = None, topic_vec: np.ndarray | None = None) -> Query:
        """The question parsed: the one place its text is read for cues."""
        terms = cues.terms(text)
        current = cues.asks_current(text)
        # The terms a quote should cover: less the words that only ask for the current state.
        content = [w for w in terms if w not in cues.CURRENT_WORDS] if current else terms
        head = cues.head_term(text)
        return cls(
            text=text,
            terms=tuple(terms),
            content_terms=tuple(content),
            kind=cues.answer_type(text),
            head=head if head in content else None,  # a time word ("the latest") is no term
            counted=cues.counted_noun(text),
            amount=cues.asks_amount(text),
            numbers=frozenset(cues.numbers(text)),
            current=current,
            vec=_no_vector() if vec is None else vec,
            topic_vec=_no_vector() if topic_vec is None else topic_vec,
        )
