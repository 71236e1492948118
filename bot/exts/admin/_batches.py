"""An /ingest job's articles, ingested a chunk at a time so that the job can say how far it got."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import TypeVar

from index import CHUNK_ARTICLES, IngestReport

T = TypeVar("T")

BATCH = CHUNK_ARTICLES  # what one engine ingest writes per transaction anyway: no extra cost


def batches(items: Sequence[T]) -> Iterator[tuple[int, Sequence[T]]]:
    """``items`` in slices of `BATCH`, each with how many came before it."""
    for start in range(0, len(items), BATCH):
        yield start, items[start : start + BATCH]


def add_report(total: IngestReport, part: IngestReport) -> None:
    """Count one batch's report into the job's: numbers add up, lists are joined in order."""
    for field in fields(IngestReport):
        mine, theirs = getattr(total, field.name), getattr(part, field.name)
        setattr(total, field.name, mine + theirs)
