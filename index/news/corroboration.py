"""Corroboration: how many outlets carried a quoted story as wire copies, and when it first appeared.

Wire copies are found at ingest (index/reading/ingest.py: another outlet's near-identical text); here they
are counted for the answer: "reported by 3 outlets, first on 2024-05-10".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from index.core.dates import published_at
from index.core.models import Reported
from index.storage.store import Store


def wire_groups(store: Store, pks: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """For each article pk, every article of its wire group (the story and all its copies, itself
    included): pk, root (the story's pk), source and published. One query for all of them."""
    if not pks:
        return {}
    marks = ",".join("?" * len(pks))
    rows = store.query(
        "SELECT asked.pk AS asked, a.pk, coalesce(a.copy_of, a.pk) AS root, a.source, a.published "
        "FROM articles asked JOIN articles a "
        "ON a.pk = coalesce(asked.copy_of, asked.pk) OR a.copy_of = coalesce(asked.copy_of, asked.pk) "
        f"WHERE asked.pk IN ({marks}) ORDER BY a.pk",
        list(pks),
    )
    groups: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pks}
    for row in rows:
        groups[row.pop("asked")].append(row)
    return groups


def reported(group: Sequence[dict[str, Any]]) -> Reported | None:
    """The group's corroboration; None when no other outlet carried it."""
    outlets = {(r["source"] or "").casefold() for r in group if r["source"]}
    if len(outlets) < 2:
        return None
    dated = {r["published"]: published_at(r["published"]) for r in group}
    first = min((p for p, moment in dated.items() if moment), key=dated.__getitem__, default=None)
    return Reported(len(outlets), first)
