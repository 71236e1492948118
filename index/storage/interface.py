"""What the engine and the feature modules call on their store: the interface a second backend
(PostgreSQL, say) implements beside the SQLite `index.storage.store.Store`.

The tables are those of index/storage/schema.py, which a backend makes (and migrates) when it opens.
Statements are SQL with ``?`` placeholders as SQLite writes them; rows come back as dicts of column
name to value. Writes go inside `transaction`, and a thread inside one reads its own uncommitted rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Cursor(Protocol):
    """What a write tells: the rows it changed, and the key an insert made."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...


class NewsStore(Protocol):
    readable: bool  # whether the data was made by a version this one reads (and so was migrated)

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing writes; nested, it commits with the outer one."""
        ...

    # -- any table ----------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]: ...

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Cursor: ...

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def count(self, table: str) -> int: ...

    # -- settings -----------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...

    def last_ingest(self, scope: str | None) -> str | None: ...

    def set_last_ingest(self, scopes: Iterable[str | None], when: str) -> None: ...

    def generation(self) -> int: ...

    def bump_generation(self) -> int: ...

    # -- articles -----------------------------------------------------------------------------

    def find_existing(
        self, article_id: str | None, url: str | None, content_hash: str, scope: str | None = None
    ) -> dict | None: ...

    def near_duplicates(
        self, norms: Sequence[str], overlap: float, scope: str | None = None
    ) -> list[dict]: ...

    def sentence_norms(self, article_pk: int) -> set[str]: ...

    def copies_of(self, pks: Sequence[int]) -> list[dict]: ...

    def article_in_scope(self, ref: str, scope: str | None) -> dict | None: ...

    def next_article_pk(self) -> int: ...

    def insert_articles(self, rows: list[dict[str, Any]]) -> None: ...

    def replace_article(self, pk: int, row: dict[str, Any]) -> list[int]: ...

    def delete_articles(self, pks: Sequence[int]) -> list[int]: ...

    def insert_sentences(self, rows: list[dict[str, Any]]) -> None: ...

    def next_passage_pk(self) -> int: ...

    def insert_passages(self, rows: list[dict[str, Any]]) -> None: ...
