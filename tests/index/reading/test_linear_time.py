"""No reader, cleaner, sentence splitter or question parser takes time quadratic in its input.

A regex that backtracks over a long run (``\\s+#+$`` tried from every space of 20,000) holds the GIL for
seconds and so freezes every thread, the bot's event loop included, on one upload. Each function is timed
here on texts of n and 2n characters of one Hypothesis-drawn shape (long runs of spaces, tabs,
punctuation, brackets, '#' or newlines, short units repeated, words): linear work doubles, quadratic
work quadruples, and the test fails past three times.
"""

from __future__ import annotations

import gc
import html
import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from strategies import SHAPES, stretched

from index.news.recency import time_cue
from index.reading.clean import clean_text, split_title
from index.reading.readers import read_paths
from index.reading.sentences import split_sentences
from index.search import cues
from index.search.query import Query

SIZE = 20_000  # characters: quadratic work on this many takes seconds, linear work milliseconds
RATIO = 3.0  # what doubling the input may cost at most
SLACK = 0.001  # seconds: timer and cache noise on calls that take microseconds
REPEATS = 3  # measurements per size; the least is taken
SPAN = 0.02  # seconds each measurement lasts at least, over as many calls as that takes
ENOUGH = 0.1  # seconds: a measurement this long is not repeated (noise is a small part of it)

# No shrinking: it would re-time ever smaller inputs, slowly, and a timing proves little at small sizes.
TIMED = settings(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The inputs each finding of issue 29 was made with, timed whatever Hypothesis draws.
FOUND = [
    ("a", " ", "b"),  # 20k spaces in a line: the inline credit pattern's [ \t]*, `\s+#+$`
    ("a", "\t", "b"),
    ("# a", " \t", "b #"),
    ("(Photo", " ", "x"),
    ("", "(Photo: ", ""),
    ("", "is ", "x"),  # the question parser's "is ... over" pattern, tried from every "is"
    ("a", "\n", "b"),
]

Work = Callable[[], object]


def cpu_seconds(works: Sequence[Work]) -> list[float]:
    """The CPU seconds one call of each of ``works`` takes: the least of `REPEATS` measurements, each
    over enough calls to last `SPAN`, taken in turn so that a busy spell of the machine slows them
    alike (a call past `ENOUGH` is measured once). Thread time: other processes do not count."""
    best = [math.inf] * len(works)
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(REPEATS):
            for i, work in enumerate(works):
                if best[i] == math.inf or best[i] <= ENOUGH:
                    calls, start = 0, time.thread_time()
                    while (spent := time.thread_time() - start) < SPAN:
                        work()
                        calls += 1
                    best[i] = min(best[i], spent / calls)
    finally:
        if collecting:
            gc.enable()
    return best


def assert_linear(prepare: Callable[[str, Path], Work], shape: tuple[str, str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        works = [prepare(stretched(shape, n), Path(folder)) for n in (SIZE, 2 * SIZE)]
        small, large = cpu_seconds(works)
        if large > RATIO * small + SLACK:  # measured again: a busy spell passes, quadratic work does not
            small, large = map(min, zip((small, large), cpu_seconds(works), strict=True))
    assert large <= RATIO * small + SLACK, (
        f"{SIZE:,} characters of {shape!r} took {small:.4f} s, twice as many {large:.4f} s "
        f"({large / small:.1f} times): quadratic"
    )


def calling(function: Callable[[str], object]) -> Callable[[str, Path], Work]:
    return lambda text, _folder: partial(function, text)


def reading(suffix: str, content: Callable[[str], str] = str) -> Callable[[str, Path], Work]:
    """Work reading ``text`` as the file a member uploads, written as ``content`` gives it."""

    def prepare(text: str, folder: Path) -> Work:
        path = folder / f"{len(text)}{suffix}"
        path.write_text(content(text), encoding="utf-8")
        return lambda: list(read_paths([path]))

    return prepare


def as_json(text: str) -> str:
    return json.dumps({"text": text})


def as_page(text: str) -> str:
    return f"<html><body><article><p>{html.escape(text)}</p></article></body></html>"


def parse_question(question: str) -> None:
    """Every cue the engine reads from a question, with the question as a candidate sentence too."""
    query = Query.read(question)
    cues.topic(question)
    for asked in (query.kind, "number", "date", "name"):
        cues.has_answer_type(question, asked, "what?")
    time_cue(query, lambda: date(2024, 5, 1))


FAST = {
    "clean_text": calling(clean_text),
    "split_title": calling(split_title),
    ".txt": reading(".txt"),
    ".md": reading(".md"),
    ".json": reading(".json", as_json),
    ".jsonl": reading(".jsonl", lambda text: as_json(text) + "\n"),
    "question": calling(parse_question),
}


def with_found(test: Callable[..., None]) -> Callable[..., None]:
    for shape in FOUND:
        test = example(shape=shape)(test)
    return test


@pytest.mark.parametrize("name", list(FAST))
@settings(TIMED, max_examples=8)
@with_found
@given(shape=SHAPES)
def test_readers_cleaners_and_question_parser_are_linear(name: str, shape: tuple[str, str, str]) -> None:
    assert_linear(FAST[name], shape)


# Slower per call (syntok and trafilatura are pure Python over the whole text): fewer drawn shapes.
SLOW = {
    "split_sentences": calling(split_sentences),
    ".html": reading(".html", as_page),
}


@pytest.mark.parametrize("name", list(SLOW))
@settings(TIMED, max_examples=5)
@with_found
@given(shape=SHAPES)
def test_sentence_splitter_and_html_reader_are_linear(name: str, shape: tuple[str, str, str]) -> None:
    assert_linear(SLOW[name], shape)
