"""Sentence spans: the units the bot quotes, so each must be an exact slice of the article text.

syntok (rules, no model) finds where sentences start: of the splitters measured by
bench/splitters.py it makes the fewest mistakes on news (quotes, abbreviations, amounts, initials).
This module cuts the text at those starts itself, so every span is verbatim and every character
lands in one, whatever the library returns.
"""

from __future__ import annotations

import re

from syntok.segmenter import segment
from syntok.tokenizer import Tokenizer

from index.core.limits import MAX_SENTENCE_CHARS

# Tokens keep their offsets into the text: nothing is replaced or joined.
_TOKENIZER = Tokenizer(replace_not_contraction=False)

# Long paragraphs are fed to the splitter in windows of about this many characters, so that what it
# is handed at once, and what that costs, stays bounded whatever the input.
_WINDOW = 2000
# A window holding only one sentence is widened, up to this; past it the sentence is cut where the
# window ends (at a space), so whitespace runs or unbroken text never hand the splitter a huge input.
_MAX_WINDOW = 4 * _WINDOW

_LINE = re.compile(r"[^\r\n]+")

# Where a run-on "sentence" is best split, strongest first: a sentence end the splitter missed, a clause
# boundary, a comma, any space. The piece before keeps the punctuation.
_BREAKS = (
    re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s+"),
    re.compile(r"[;:]\s+|\s+[\u2013\u2014-]+\s+|\u2014"),
    re.compile(r",\s+"),
    re.compile(r"\s+"),
)
_SPACE = re.compile(r"\s*")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) spans of the sentences in ``text``, trimmed of surrounding whitespace.

    A line break always ends a sentence: paragraphs (and single-line subheads) never run together. No
    span is longer than `MAX_SENTENCE_CHARS`: a longer run is split (see `split_run_on`).
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        if not line.group().isspace():
            spans.extend(_split_paragraph(text, line.start(), line.end()))
    return spans


def split_run_on(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The stripped span text[start:end] as pieces of at most `MAX_SENTENCE_CHARS` (itself, if it fits)."""
    pieces: list[tuple[int, int]] = []
    while end - start > MAX_SENTENCE_CHARS:
        piece_end, start_next = _break(text, start)
        pieces.append((start, piece_end))
        start = start_next
    pieces.append((start, end))
    return pieces


def _break(text: str, start: int) -> tuple[int, int]:
    """Where a piece of a run-on starting at ``start`` ends, and where the next one starts: at the
    strongest break (see `_BREAKS`) that leaves the piece at least a tenth of the limit, else at it."""
    low, limit = start + MAX_SENTENCE_CHARS // 10, start + MAX_SENTENCE_CHARS
    piece_end = after = limit
    for pattern in _BREAKS:
        cuts = [
            m for m in pattern.finditer(text, low, limit + 1) if m.start() + len(m.group().rstrip()) <= limit
        ]
        if cuts:
            piece_end, after = cuts[-1].start() + len(cuts[-1].group().rstrip()), cuts[-1].end()
            break
    return start + len(text[start:piece_end].rstrip()), _SPACE.match(text, after).end()


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Segment text[start:end] window by window; the last sentence of a window is redone in the next."""
    spans: list[tuple[int, int]] = []
    cursor = start
    window = _WINDOW
    while cursor < end:
        stop = end if end - cursor <= window else _cut_point(text, cursor, cursor + window)
        found = [piece for span in _segment(text, cursor, stop) for piece in split_run_on(text, *span)]
        if stop == end:
            spans.extend(found)
            break
        if len(found) >= 2:
            spans.extend(found[:-1])
            cursor = found[-1][0]
            window = _WINDOW
        elif window < _MAX_WINDOW:  # one sentence longer than the window: widen it rather than cut it
            window *= 2
        else:  # one sentence, then only whitespace as far as the widest window: end it there
            spans.extend(found)
            cursor = stop
            window = _WINDOW
    return spans


def _cut_point(text: str, start: int, limit: int) -> int:
    """The last whitespace before ``limit``, so a window never ends inside a word (or an abbreviation)."""
    cut = max(text.rfind(" ", start, limit), text.rfind("\t", start, limit))
    return cut if cut > start else limit


def _segment(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """text[start:end] cut where syntok starts each sentence, each piece trimmed of whitespace.

    The pieces are made here from those offsets alone, so they are verbatim and together cover the
    text, whatever syntok skips, and even were its offsets out of order or out of range.
    """
    sentences = segment(_TOKENIZER.tokenize(text[start:end]))
    starts = sorted({start + tokens[0].offset for tokens in sentences if tokens})
    spans: list[tuple[int, int]] = []
    first = start
    for cut in [*(c for c in starts if start < c < end), end]:
        piece = text[first:cut]
        if piece.strip():
            lead = first + len(piece) - len(piece.lstrip())
            spans.append((lead, lead + len(piece.strip())))
        first = cut
    return spans
