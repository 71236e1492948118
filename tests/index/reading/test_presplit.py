"""Splitting ahead of ingest: workers give the inline spans, in input order, and fall back when broken."""

import logging
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest

import index.reading.presplit as presplit
from index.core.limits import MAX_ARTICLE_CHARS
from index.core.models import ArticleIn, InputProblem
from index.reading.sentences import split_sentences


def _items(n: int) -> list[ArticleIn | InputProblem]:
    items: list[ArticleIn | InputProblem] = [
        ArticleIn(f"Story {i}", f"Mr. Reed said {i} ferries ran. The council agreed!\nA new line {i}.")
        for i in range(n)
    ]
    items[3] = InputProblem("feed.xml", "not a feed")
    items[7] = ArticleIn("Too long", "word " * (MAX_ARTICLE_CHARS // 5 + 1))
    return items


def _expected(items: list[ArticleIn | InputProblem]) -> list:
    return [
        None if isinstance(i, InputProblem) or len(i.text) > MAX_ARTICLE_CHARS else split_sentences(i.text)
        for i in items
    ]


def test_workers_split_as_inline_does_in_input_order(monkeypatch):
    monkeypatch.setattr(presplit, "PARALLEL_FROM", 10)
    monkeypatch.setattr(presplit, "BATCH", 4)
    items = _items(30)
    got = list(presplit.with_spans(items, workers=2))
    assert [item for item, _ in got] == items
    assert [spans for _, spans in got] == _expected(items)
    text = items[0].text
    expected = ["Mr. Reed said 0 ferries ran.", "The council agreed!", "A new line 0."]
    assert [text[a:b] for a, b in got[0][1]] == expected


def test_a_small_input_splits_inline_without_workers(monkeypatch):
    monkeypatch.setattr(presplit, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("workers started"))
    items = _items(12)
    assert [spans for _, spans in presplit.with_spans(items, workers=4)] == _expected(items)


def test_broken_workers_leave_nothing_out(monkeypatch, caplog):
    class Broken:
        def __init__(self, *args, **kwargs):
            self.calls = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, texts):
            self.calls += 1
            if self.calls == 3:  # two batches in flight, the third cannot start
                raise BrokenProcessPool("a worker died")
            future = Future()
            future.set_result(fn(texts))
            return future

    monkeypatch.setattr(presplit, "PARALLEL_FROM", 10)
    monkeypatch.setattr(presplit, "BATCH", 4)
    monkeypatch.setattr(presplit, "ProcessPoolExecutor", Broken)
    items = _items(30)
    with caplog.at_level(logging.WARNING, logger="index.reading.presplit"):
        got = list(presplit.with_spans(items, workers=2))
    assert [item for item, _ in got] == items and [s for _, s in got] == _expected(items)
    assert "splitting inline" in caplog.text
