"""Sentence spans: the units the bot quotes, so each must be an exact slice of the article text.

pysbd does the hard part (abbreviations, initials, decimals, quotes, ellipses); this module maps its
output back to character offsets, never trusting it to return the input byte-for-byte.
"""

from __future__ import annotations

import logging
import re

import pysbd

log = logging.getLogger(__name__)

# Building a Segmenter compiles many rules: do it once.
_SEGMENTER = pysbd.Segmenter(language="en", clean=False)

# pysbd slows down quadratically with input length (a 75 kB paragraph takes seconds, 300 kB most of
# a minute), so long paragraphs are fed to it in windows of about this many characters.
_WINDOW = 2000

_LINE = re.compile(r"[^\r\n]+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return the [start, end) spans of the sentences in ``text``, trimmed of surrounding whitespace.

    A line break always ends a sentence: paragraphs (and single-line subheads) never run together.
    """
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        if not line.group().isspace():
            spans.extend(_split_paragraph(text, line.start(), line.end()))
    return spans


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Segment text[start:end] window by window; the last sentence of a window is redone in the next."""
    spans: list[tuple[int, int]] = []
    cursor = start
    window = _WINDOW
    while cursor < end:
        stop = end if end - cursor <= window else _cut_point(text, cursor, cursor + window)
        found = _segment(text, cursor, stop)
        if stop == end:
            spans.extend(found)
            break
        if len(found) < 2:  # one sentence longer than the window: widen it rather than cut the sentence
            window *= 2
            continue
        spans.extend(found[:-1])
        cursor = found[-1][0]
        window = _WINDOW
    return spans


def _cut_point(text: str, start: int, limit: int) -> int:
    """The last whitespace before ``limit``, so a window never ends inside a word (or an abbreviation)."""
    cut = max(text.rfind(" ", start, limit), text.rfind("\t", start, limit))
    return cut if cut > start else limit


def _segment(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Run pysbd on text[start:end] and locate each piece it returns, searching forward from a cursor."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for piece in _SEGMENTER.segment(text[start:end]):
        piece = piece.strip()
        if not piece:
            continue
        span = _locate(text, piece, cursor, end)
        if span is None:
            log.warning("sentence splitter output not found in text near offset %d: %.60r", cursor, piece)
            continue
        spans.append(span)
        cursor = span[1]
    # Anything pysbd dropped or altered beyond recognition stays quotable as a last sentence.
    tail = text[cursor:end]
    if tail.strip():
        first = cursor + len(tail) - len(tail.lstrip())
        spans.append((first, first + len(tail.strip())))
    return spans


def _locate(text: str, piece: str, cursor: int, end: int) -> tuple[int, int] | None:
    """Find ``piece`` at the cursor (after whitespace), tolerating whitespace that pysbd changed."""
    at = text.find(piece, cursor, end)
    if at == cursor or (at > cursor and text[cursor:at].isspace()):
        return at, at + len(piece)
    chars = [re.escape(c) for c in piece if not c.isspace()]
    match = re.compile(r"\s*" + r"\s*".join(chars)).match(text, cursor, end)
    if match is None:
        return None
    first = match.start() + len(match.group()) - len(match.group().lstrip())
    return first, match.end()
