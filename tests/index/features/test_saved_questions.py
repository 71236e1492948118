"""Saved questions: read back under their key, only in their own scope, and dropped when old."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.features.saved_questions import KEEP_DAYS, TABLE, SavedQuestion, save_question, saved_question
from index.storage.store import Filters, Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "data" / "newsbot.db")
    yield store
    store.close()


def age(store: Store, key: str, days: float) -> None:
    with store.transaction():
        store.db.execute(f"UPDATE {TABLE} SET saved_at = saved_at - ? WHERE key = ?", [days * 86400, key])


def test_a_question_is_read_back_with_its_filters_in_its_scope_only(store: Store) -> None:
    assert saved_question(store, "a" * 16, None) is None  # nothing ever saved
    filters = Filters(outlet="Coast Times", since="2024-03-01", until="2024-03-05", scope="42")
    save_question(store, "k1", "who warned ships?", filters)
    save_question(store, "k2", "ferry fares", Filters())

    assert saved_question(store, "k1", "42") == SavedQuestion("who warned ships?", filters)
    assert saved_question(store, "k2", None) == SavedQuestion("ferry fares", Filters())
    assert saved_question(store, "k1", "7") is None  # another server's key reads nothing
    assert saved_question(store, "k1", None) is None
    assert saved_question(store, "k2", "42") is None  # nor does shared news' key in a server
    assert saved_question(store, "k3", "42") is None


def test_old_questions_expire_and_are_dropped_at_the_next_save(store: Store) -> None:
    save_question(store, "old", "who warned ships?", Filters())
    save_question(store, "recent", "ferry fares", Filters())
    age(store, "old", KEEP_DAYS + 1)
    age(store, "recent", KEEP_DAYS - 1)
    assert saved_question(store, "old", None) is None
    assert saved_question(store, "recent", None) is not None

    save_question(store, "new", "harbour lights", Filters())
    assert [r["key"] for r in store.query(f"SELECT key FROM {TABLE} ORDER BY key")] == ["new", "recent"]
