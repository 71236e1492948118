"""Saved questions: read back under their key, only in their own scope, and dropped when old."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.core.settings import StoreSettings
from index.features.saved_questions import TABLE, SavedQuestion, save_question, saved_question
from index.storage.store import Filters, Store

KEEP_DAYS = StoreSettings().saved_question_days


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "data" / "newsbot.db")
    yield store
    store.close()


def age(store: Store, key: str, days: float) -> None:
    with store.transaction():
        store.db.execute(f"UPDATE {TABLE} SET saved_at = saved_at - ? WHERE key = ?", [days * 86400, key])


def test_a_question_is_read_back_with_its_filters_in_its_scope_only(store: Store) -> None:
    read = functools.partial(saved_question, store, keep_days=KEEP_DAYS)
    assert read("a" * 16, None) is None  # nothing ever saved
    filters = Filters(outlet="Coast Times", since="2024-03-01", until="2024-03-05", scope="42")
    save_question(store, "k1", "who warned ships?", filters, keep_days=KEEP_DAYS)
    save_question(store, "k2", "ferry fares", Filters(), keep_days=KEEP_DAYS)

    assert read("k1", "42") == SavedQuestion("who warned ships?", filters)
    assert read("k2", None) == SavedQuestion("ferry fares", Filters())
    assert read("k1", "7") is None  # another server's key reads nothing
    assert read("k1", None) is None
    assert read("k2", "42") is None  # nor does shared news' key in a server
    assert read("k3", "42") is None


def test_old_questions_expire_and_are_dropped_at_the_next_save(store: Store) -> None:
    save_question(store, "old", "who warned ships?", Filters(), keep_days=KEEP_DAYS)
    save_question(store, "recent", "ferry fares", Filters(), keep_days=KEEP_DAYS)
    age(store, "old", KEEP_DAYS + 1)
    age(store, "recent", KEEP_DAYS - 1)
    assert saved_question(store, "old", None, keep_days=KEEP_DAYS) is None
    assert saved_question(store, "recent", None, keep_days=KEEP_DAYS) is not None
    assert saved_question(store, "recent", None, keep_days=KEEP_DAYS - 2) is None  # kept as long as asked

    save_question(store, "new", "harbour lights", Filters(), keep_days=KEEP_DAYS)
    assert [r["key"] for r in store.query(f"SELECT key FROM {TABLE} ORDER BY key")] == ["new", "recent"]
