"""Sentence splitting ahead of ingest, in worker processes when asked to and the input is big.

Splitting is the slowest step of a model-free ingest (syntok is pure Python, about half the time), and
each article splits alone, so a big input can split in other processes while this one writes to SQLite.
A small input (a feed poll, an upload) splits inline: starting workers would cost more than they save.
Workers are spawned, not forked, so they never inherit the model's or FAISS's threads; but a spawned
worker runs the caller's main module again, which only a script with an ``if __name__ == "__main__"``
guard survives. So workers are opt-in, for callers that own such a main (`newsbot ingest`); if they
break anyway, splitting goes on inline, with a log line saying why.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice

from index.core.limits import MAX_ARTICLE_CHARS
from index.core.models import ArticleIn, InputProblem
from index.reading.sentences import split_sentences

log = logging.getLogger(__name__)

Spans = list[tuple[int, int]]
PARALLEL_FROM = 200  # articles: below this an input splits inline
BATCH = 64  # articles handed to a worker at once
WORKERS = min(4, os.cpu_count() or 1)  # what a guarded main (`newsbot ingest`, bench/scale.py) asks for


def with_spans(
    items: Iterable[ArticleIn | InputProblem], workers: int = 1
) -> Iterator[tuple[ArticleIn | InputProblem, Spans | None]]:
    """Each item with its sentence spans (None for a problem, or a text ingest refuses unsplit), in
    input order; reading stays streamed, a few batches ahead of the caller."""
    items = iter(items)
    head = list(islice(items, PARALLEL_FROM)) if workers > 1 else []
    if len(head) < PARALLEL_FROM:  # one worker asked for, or a small input
        for item in chain(head, items):
            yield item, _split(item)
        return
    source = chain(head, items)
    pending: deque[tuple[list[ArticleIn | InputProblem], Future[list[Spans | None]]]] = deque()
    unsent: list[ArticleIn | InputProblem] = []
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            while unsent := list(islice(source, BATCH)):
                pending.append((unsent, pool.submit(_split_all, [_text(item) for item in unsent])))
                unsent = []
                if len(pending) > 2 * workers:
                    yield from _oldest(pending)
            while pending:
                yield from _oldest(pending)
    except (BrokenProcessPool, RuntimeError) as error:
        log.warning("sentence-splitting workers failed (%s); splitting inline", error)
        for item in chain((i for batch, _ in pending for i in batch), unsent, source):
            yield item, _split(item)


def _oldest(
    pending: deque[tuple[list[ArticleIn | InputProblem], Future[list[Spans | None]]]],
) -> Iterator[tuple[ArticleIn | InputProblem, Spans | None]]:
    """The oldest batch with its spans; it leaves `pending` only once they came back."""
    batch, future = pending[0]
    result = future.result()
    pending.popleft()
    return zip(batch, result, strict=True)


def _text(item: ArticleIn | InputProblem) -> str | None:
    """The text to split: none for a problem or an article too long to ingest."""
    if isinstance(item, InputProblem) or len(item.text) > MAX_ARTICLE_CHARS:
        return None
    return item.text


def _split(item: ArticleIn | InputProblem) -> Spans | None:
    return _split_all([_text(item)])[0]


def _split_all(texts: list[str | None]) -> list[Spans | None]:
    return [None if text is None else split_sentences(text) for text in texts]
