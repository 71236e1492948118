"""Hypothesis strategies for hostile and careless input: what the readers and the ingest must survive.

Shared by the property tests and by `bench/fuzz_ingest.py`, which feeds the same inputs to whole ingests.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

# Any JSON value, nested a few levels.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)

# Text as articles have it and as they should not: words, sentence ends, quotes, emoji, right-to-left
# script, captions and slugs the cleaner drops, control characters, odd whitespace, lone surrogates.
_PIECES = st.sampled_from(
    ["The", "council", "said", "U.S.", "Mr.", "3.5%", "$1.2m", "...", "\u2026", ".", "!", "?", ",", ";",
     '"', "\u201c", "\u201d", "(", ")", "\u2014", "\U0001f600", "\u05e9\u05dc\u05d5\u05dd", "NEAR(", "*",
     "@everyone", "<@123>", "**", "SKOREA-NKOREA", "Read Also:", "(Photo: AP)", "\n", "\n\n", "\r\n",
     "\t", "\u00a0", "\u2028", "\x00", "\x1b", "\ud800", "x" * 900]
)  # fmt: skip
TEXT = st.one_of(st.lists(st.one_of(_PIECES, st.text(max_size=12)), max_size=80).map(" ".join), st.text())

# Article objects with every field optional and any field of any type.
_FIELD = st.one_of(st.text(max_size=40), JSON)
OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "id": _FIELD, "title": st.one_of(TEXT, JSON), "text": st.one_of(TEXT, JSON), "url": _FIELD,
        "source": _FIELD, "published": st.one_of(st.dates().map(str), st.text(max_size=20), JSON),
        "meta": JSON,
    },
)  # fmt: skip

# Lines of a JSON Lines file: article objects, other JSON, broken JSON, nesting past any limit.
LINES = st.one_of(
    OBJECTS.map(json.dumps),
    JSON.map(json.dumps),
    st.text(max_size=60),
    st.sampled_from(
        ['{"text": "\\ud800 lone."}', "[" * 5000 + "]" * 5000, '{"text": "a"', "null", "\ufeff{}", "{}" * 3]
    ),
)

# Bytes of a whole input file: lines as above (lone surrogates kept as such), or anything at all.
FILES = st.one_of(
    st.lists(LINES, max_size=8).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
)

# Shapes of long input: a head, a short unit repeated to any length, a tail. A unit of one character is
# a long run (20,000 spaces); a unit of a few is a pattern repeated ("is is is ...", "(Photo: (Photo: ").
# Long runs of whitespace, punctuation, brackets, '#' and newlines are what a backtracking regex goes
# quadratic on; the words are those the cleaner's and the question parser's patterns look for.
_RUN_PIECES = (
    " ", "\t", " \t", "\n", "\n ", "\n\n", "#", "# ", ".", "!", "?", ",", ";", ":", "-", " - ", "\u2014",
    "\u2026", "(", ")", "[", "]", "\"", "'", "\u201d", "*", "_", "\\", "<", "|", "\u00a0", "\u2003",
)  # fmt: skip
_WORD_PIECES = (
    "word", "The ", "Mr. ", "is ", "was ", "over", "ended", "in ", "May ", "2024", "1,000", "$5m ", "20%",
    "how many ", "who ", "Aa ", "Photo:", "(Photo", "(Image credit", "credit", "Getty Images", "via ",
    "READ MORE", "Related:", "SKOREA-", "http://", "<@1>",
)  # fmt: skip
_PIECE = st.sampled_from(_RUN_PIECES + _WORD_PIECES)
_JOINED = st.lists(_PIECE, max_size=3).map("".join)
SHAPES = st.tuples(_JOINED, st.lists(_PIECE, min_size=1, max_size=3).map("".join), _JOINED)


def stretched(shape: tuple[str, str, str], size: int) -> str:
    """The text of ``shape`` about ``size`` characters long: its unit repeated between head and tail."""
    head, unit, tail = shape
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail
