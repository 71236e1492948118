"""Cheap lexical signals: query terms for BM25, and what kind of answer a question asks for."""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from index.core.dates import MONTHS, WEEKDAYS

TOKEN = re.compile(r"[^\W_]+")
NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:thir|four|fif|six|seven|eigh|nine)teen(?:th)?|(?:twen|thir|for|fif|six|seven|eigh|nine)t(?:y|ieth)|"
    r"hundred|thousand|million|billion|trillion|dozen|half|quarter)\b",
    re.IGNORECASE,
)
_NAMED_DAYS = "|".join(name.capitalize() for name in (*MONTHS, *WEEKDAYS))  # "March", "Friday"
DATE = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d)\b|\b(?:{_NAMED_DAYS}|yesterday|today|tomorrow|"
    r"last (?:week|month|year)|next (?:week|month|year)|century|decade)\b"
)
DIGITS = re.compile(r"\d[\d,.]*\d|\d")
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")

# An amount: money, a share, or a magnitude ("£8m", "20%", "32 million").
AMOUNT = re.compile(
    r"[£$€¥%]|\b\d+(?:\.\d+)?\s?(?:m|bn|k)\b|\b(?:per ?cent|percent|million|billion|trillion)\b", re.I
)
AMOUNT_QUESTION = re.compile(
    r"^\s*(?:how (?:much|far)|what (?:share|percentage|proportion|amount|price)|what is the (?:cost|price))"
    r"\b",
    re.I,
)
# The asking words that open a question, with the auxiliary after them: "how many ... are there",
# "who is", "what did".
ASKING = re.compile(
    r"^\s*(?:who|whom|whose|what|when|where|which|why|how(?:\s+(?:many|much|long|far|big|old|often))?)"
    r"(?:'s)?\s+(?:(?:is|are|was|were|did|does|do|has|have|had|will|would|can|could|might|may|should)\s+)?",
    re.I,
)
HEAD = re.compile(r"^\s*(?:what|which|how many|how much)\s+([^\W\d_][^\W_]*)", re.I)

# Asking for the state of things now: "the latest", "still", "so far", "what happened next"; or whether
# it is over (see `asks_current`).
_NOW = re.compile(
    r"\b(?:latest|newest|most recent|recent(?:ly)?|now|currently|still|so far|to date|yet|at the moment|"
    r"at present|this week|today|tonight|yesterday|any (?:news|updates?)|updates? on|"
    r"happened (?:next|since|after that|afterwards)|since then)\b",
    re.I,
)
_STATE_VERB = re.compile(r"\b(?:is|are|was|has|have)\b", re.I)
_ENDED = re.compile(r"\b(?:over|ended|finished|settled|resolved)\Z", re.I)
_NON_WORDS = re.compile(r"\W*")
# The content words of those phrases, and "happening" ("what is happening with the strike now"): no
# sentence is expected to say them, so they are not terms a quote must cover ("what's the latest on the
# strike" asks about the strike).
CURRENT_WORDS = frozenset(
    {"latest", "newest", "recent", "recently", "currently", "date", "moment", "present", "week", "today",
     "tonight", "yesterday", "news", "update", "updates", "ended", "finished", "settled", "resolved",
     "happening", "happened"}
)  # fmt: skip

HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "sir", "lord", "lady"})

ANSWER_TYPES = (
    (
        "number",
        re.compile(
            r"^\s*(?:how (?:many|much|long|far|big|old|often|high|large|fast)|what (?:share|"
            r"percentage|proportion|number|amount|price)|what is the (?:cost|price|size))\b",
            re.I,
        ),
    ),
    ("date", re.compile(r"^\s*(?:when|what (?:year|date|day|month|time)|since when|how long ago)\b", re.I)),
    ("name", re.compile(r"^\s*(?:who|whom|whose|which)\b", re.I)),  # "which club/MP/drama" wants a name too
)


# A sentence saying that the asked-for kind of thing was kept back ("the fee was not disclosed", "an
# unnamed woman", "there is no date yet"): the news says it does not say, so refusal weighs it.
_KEPT_BACK = (
    r"undisclosed|(?:not|never)\s+(?:been\s+)?(?:disclosed|revealed|made public)|"
    r"(?:did|does|do|would|will)\s*(?:not|n't)\s+(?:disclose|reveal|give details)|"
    r"(?:declined|refused)\s+to\s+(?:disclose|reveal|give details)"
)
ASKED_NOUNS = (
    ("number", re.compile(r"\b(?:fee|price|cost|sum|salary|wage|value|figure|amount|budget|total)\b", re.I)),
    ("date", re.compile(r"\b(?:date|day|year|month)\b", re.I)),
    ("name", re.compile(r"\bname\b", re.I)),
)
WITHHELD = {
    "number": re.compile(rf"\b(?:{_KEPT_BACK})\b", re.I),
    "name": re.compile(
        rf"\b(?:unnamed|(?:not|never)\s+(?:been\s+)?(?:named|identified)|"
        rf"(?:declined|refused)\s+to\s+(?:name|identify)|{_KEPT_BACK})\b",
        re.I,
    ),
    "date": re.compile(
        rf"\b(?:no\s+(?:release\s+)?date|(?:not\s+(?:yet\s+)?(?:been\s+)?|yet\s+to\s+be\s+)(?:set|fixed|decided)|"
        rf"{_KEPT_BACK})\b",
        re.I,
    ),
}


def terms(text: str) -> list[str]:
    """Lower-cased content words of a query, split as FTS5's unicode61 tokenizer splits them (so
    "in-flight" gives "flight" and "qantas's" gives "qantas"), stop words dropped, no repeats."""
    seen: dict[str, None] = {}
    for word in TOKEN.findall(text.lower()):
        if word not in ENGLISH_STOP_WORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def asks_current(question: str) -> bool:
    """Whether the question asks for the state of things now: "the latest", "still", "so far", or
    whether it is over ("is the strike over?", "has it ended"): a verb of state, then that word last.

    Not one regex: "verb, anything, that word, non-words to the end" is tried from every verb to the
    end, quadratic time on "is is is ...".
    """
    if _NOW.search(question):
        return True
    # Matched reversed: searched for forwards, a run of non-words is tried from each of its characters.
    trailing = len(_NON_WORDS.match(question[::-1]).group())
    text = question[: len(question) - trailing]
    line = text[text.rfind("\n") + 1 :]  # the verb and the word are on one line
    ended = _ENDED.search(line)
    return ended is not None and _STATE_VERB.search(line, 0, ended.start()) is not None


def answer_type(question: str) -> str | None:
    """'number', 'date' or 'name' when the question's wording asks for one."""
    for kind, pattern in ANSWER_TYPES:
        if pattern.search(question):
            return kind
    return None


def topic(question: str) -> str:
    """The question without its asking words: "how many people over 100 ..." gives "people over 100 ...".

    A sentence close to the topic but not to the whole question shares the subject without the asked-for
    kind of content; the scorer weighs the two similarities against each other."""
    return ASKING.sub("", question).rstrip(" ?") or question


def head_term(question: str) -> str | None:
    """The noun the question asks for, as a query term: "which club ..." gives "club"."""
    match = HEAD.match(question)
    word = match and match.group(1).lower()
    return word if word and word in terms(word) else None


def counted_noun(question: str) -> str | None:
    """The noun a "how many" question counts: "how many crew will strike?" gives "crew"."""
    match = HEAD.match(question)
    if not match or not question.lower().lstrip().startswith("how many"):
        return None
    return match.group(1).lower()


def asks_amount(question: str) -> bool:
    """How much / how far / what share: the answer is money, a share or a magnitude."""
    return bool(AMOUNT_QUESTION.match(question))


def numbers(text: str) -> set[str]:
    """The numbers written in digits ("2005", "1,000" as "1000")."""
    return {found.replace(",", "") for found in DIGITS.findall(text)}


def has_answer_type(sentence: str, kind: str | None, question: str) -> bool:
    """Does the sentence hold something of the asked-for kind that the question does not already say?"""
    if kind is None:
        return False
    asked = question.lower()
    if kind == "number":
        return any(f.lower() not in asked for f in NUMBER.findall(sentence))
    if kind == "date":
        return any(f.lower() not in asked for f in DATE.findall(sentence))
    known = set(TOKEN.findall(asked)) | HONORIFICS  # "Mr Brown" is no new name when Brown was asked about
    return any(set(TOKEN.findall(name.lower())) - known for name in NAME.findall(sentence))


def withheld(sentence: str, question: str) -> bool:
    """Does the sentence say that the asked-for kind of thing (an amount, a name, a date) was kept back,
    stating none of that kind itself? "Norwich signed Stuart for an undisclosed fee" does not say the fee
    (but does answer who Norwich signed: only the kind asked for counts)."""
    kind = asked_kind(question)
    pattern = WITHHELD.get(kind or "")
    return (
        pattern is not None
        and bool(pattern.search(sentence))
        and not has_answer_type(sentence, kind, question)
    )


def asked_kind(question: str) -> str | None:
    """`answer_type`, or for a "what" question the kind its noun asks for ("what fee", "the date")."""
    if kind := answer_type(question):
        return kind
    for kind, pattern in ASKED_NOUNS:
        if pattern.search(question):
            return kind
    return None
