"""Conflicting figures: when the top answers from different articles of one story state different
numbers for the quantity a question asks about ("how many crew ...", "how much will it cost"), the
answer shows both, marked as differing sources, rather than vouching for one.

A count is the number written before the noun asked about ("300 crew members" for "how many crew");
an amount is money, a share or a magnitude ("£5.5m", "5%"). Figures are compared by value, so "£4m"
and "£4 million" agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from index.core.models import Differing
from index.search.cues import TOKEN
from index.search.query import Query

if TYPE_CHECKING:
    from index.search.answer import Answer

TOP_ANSWERS = 3  # the answers compared: those a reader sees first
NOUN_WORDS = 3  # how far after a count its noun may come ("350 of its crew")

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12,
}  # fmt: skip
_SCALES = {
    "%": 1, "per cent": 1, "percent": 1, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6,
    "bn": 1e9, "billion": 1e9, "trillion": 1e12,
}  # fmt: skip
# A number ("1,200", "5.5", "three") with the currency before it and the scale after it, if any.
FIGURE = re.compile(
    r"(?P<currency>[£$€¥])?(?P<number>(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d,.]\d)|\b(?:"
    + "|".join(_WORDS)
    + r")\b)\s?(?P<scale>%|(?:per ?cent|percent|k|thousand|m|million|bn|billion|trillion)\b)?",
    re.IGNORECASE,
)
_SHARES = ("%", "per cent", "percent")
_YEAR = re.compile(r"(?:1[5-9]|20)\d\d")


@dataclass(frozen=True)
class _Stated:
    """A figure as a sentence states it: its text, unit ("£", "%", "" for a count), value, and the
    noun right after it when there is one ("pay rise" in "a 5% pay rise"), what it is a figure of."""

    text: str
    unit: str
    value: float
    noun: str | None

    def measures_as(self, other: _Stated) -> bool:
        """Whether both are figures of one quantity: "a 5% pay rise" and "a 3% pay offer" are not."""
        nouns = self.noun is None or other.noun is None or _same_noun(self.noun, other.noun)
        return self.unit == other.unit and nouns


def differing(
    query: Query, answers: Sequence[Answer], pks: Sequence[int], same_story: Callable[[int, int], bool]
) -> list[Differing]:
    """The distinct figures the top answers from different articles of the first one's story state
    for the quantity asked, one per value; empty unless there are at least two."""
    stating = stated_figures(query, [answer.sentence for answer in answers], pks, same_story)
    return [Differing(stated.text, position, answers[position].article) for position, stated in stating]


def stated_figures(
    query: Query, sentences: Sequence[str], pks: Sequence[int], same_story: Callable[[int, int], bool]
) -> list[tuple[int, _Stated]]:
    """What `differing` finds, as the position of each top sentence stating a distinct figure (the
    first to state it) with that figure: the sentences are the answers', ``pks`` their articles."""
    head = None if query.amount else query.counted
    if not query.amount and head is None:
        return []
    asked = query.numbers
    first: tuple[_Stated, int] | None = None
    found: dict[float, tuple[int, _Stated]] = {}
    for position, (sentence, pk) in enumerate(zip(sentences[:TOP_ANSWERS], pks, strict=False)):
        stated = _figure(sentence, head, asked)
        if stated is None:
            continue
        if first is None:
            first = stated, pk
        elif pk == first[1] or not same_story(first[1], pk) or not stated.measures_as(first[0]):
            continue
        found.setdefault(stated.value, (position, stated))
    return list(found.values()) if len(found) > 1 else []


def _figure(sentence: str, head: str | None, asked: frozenset[str]) -> _Stated | None:
    """The first figure of the asked kind in the sentence that the question does not itself state:
    a count of ``head``, else an amount."""
    for match in FIGURE.finditer(sentence):
        digits = match["number"].lower().replace(",", "")
        scale, currency = (match["scale"] or "").lower(), match["currency"] or ""
        if digits in asked:
            continue
        after = TOKEN.findall(sentence[match.end() :].lower())[:NOUN_WORDS]
        if head is None:
            fits = bool(currency or scale)  # money, a share or a magnitude: "£4m", "5%", "2 million"
        else:  # a plain number (no money, share or year) with the noun just after it
            plain = not (currency or scale in _SHARES or _YEAR.fullmatch(digits))
            fits = plain and any(_same_noun(head, word) for word in after)
        if fits:
            value = (_WORDS.get(digits) or float(digits)) * _SCALES.get(scale, 1)
            unit = "%" if scale in _SHARES else currency
            noun = _noun(sentence[match.end() :]) if head is None else head
            return _Stated(match.group(0).strip(), unit, float(value), noun)
    return None


def _noun(rest: str) -> str | None:
    """The last word of the run of content words right after a figure ("pay rise" gives "rise"), if
    a content word follows it at all (not "and", a comma, the end)."""
    words = re.match(r"\s*((?:[^\W\d_]+ ?)+)", rest)
    run = []
    for word in (words.group(1).split() if words else [])[:NOUN_WORDS]:
        if word.lower() in ENGLISH_STOP_WORDS:
            break
        run.append(word.lower())
    return run[-1] if run else None


def _same_noun(a: str, b: str) -> bool:
    """Singular and plural alike: "crew"/"crews", "ferry"/"ferries"."""

    def stem(word: str) -> str:
        return word[:-3] + "y" if word.endswith("ies") else word.removesuffix("s")

    return stem(a) == stem(b)
