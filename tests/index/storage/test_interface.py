"""The SQLite store is one implementation of the interface the engine reads storage through."""

from __future__ import annotations

import inspect

from index.storage.interface import NewsStore
from index.storage.store import Store


def test_the_sqlite_store_has_every_method_of_the_interface_as_declared() -> None:
    declared = {name for name in dir(NewsStore) if not name.startswith("_")}
    assert declared, "the interface declares nothing"
    for name in declared:
        ours, theirs = inspect.signature(getattr(Store, name)), inspect.signature(getattr(NewsStore, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    assert "readable" in NewsStore.__annotations__
