"""Questions kept under a short key, so that a front end can answer one again later.

Discord's buttons carry 100 characters of state and must keep working after the bot restarts: they
hold the key, and the question with its filters and its asker waits here. A question is kept for
``keep_days`` (the ``saved_question_days`` setting) after it was saved, and only in its own scope: a
key never reads a question saved for another server. Its asker (a front end's id for a user) is what a
front end checks a press of "their" buttons against, since a custom id can be forged by any client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from index.storage.store import Filters, Store, scope_clause

TABLE = "saved_questions"  # declared in index/storage/schema.py


@dataclass(frozen=True)
class SavedQuestion:
    text: str
    filters: Filters
    asker: str | None = None  # None for a question saved without one (or before askers were kept)


def save_question(
    store: Store, key: str, text: str, filters: Filters, asker: str | None = None, *, keep_days: float
) -> None:
    """Keep ``text``, asked by ``asker`` under ``filters``, under ``key``; questions older than
    ``keep_days`` go."""
    now = time.time()
    with store.transaction():
        store.execute(f"DELETE FROM {TABLE} WHERE saved_at < ?", [now - keep_days * 86400])
        store.execute(
            f"INSERT OR REPLACE INTO {TABLE} (key, text, outlet, since, until, scope, asker, saved_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [key, text, filters.outlet, filters.since, filters.until, filters.scope, asker, now],
        )


def saved_question(store: Store, key: str, scope: str | None, *, keep_days: float) -> SavedQuestion | None:
    """The question saved under ``key`` in exactly ``scope`` in the last ``keep_days``; None when there
    is none (any more)."""
    exact, params = scope_clause("scope", scope)
    rows = store.query(
        f"SELECT text, outlet, since, until, asker FROM {TABLE} WHERE key = ? AND {exact} AND saved_at >= ?",
        [key, *params, time.time() - keep_days * 86400],
    )
    if not rows:
        return None
    row = rows[0]
    filters = Filters(outlet=row["outlet"], since=row["since"], until=row["until"], scope=scope)
    return SavedQuestion(row["text"], filters, row["asker"])
