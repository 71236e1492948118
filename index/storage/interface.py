"""What the engine and the feature modules call on their store: the interface a second backend
(PostgreSQL, say) implements beside the SQLite `index.storage.store.Store`.

The tables are those of index/storage/schema.py, which a backend makes (and migrates) when it opens.
Statements are SQL with ``?`` placeholders as SQLite writes them; rows come back as dicts of column
name to value. Writes go inside `transaction`, and a thread inside one reads its own uncommitted rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from index.core.models import ArticleKey

if TYPE_CHECKING:
    import numpy as np

    from index.storage.store import Filters
    from index.storage.vectors import RebuildSource


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

    def claim(
        self,
        table: str,
        keys: Sequence[Any],
        claimant: str,
        now: float,
        until: float,
        *,
        force: bool = False,
    ) -> list[Any]:
        """Take the rows of ``table`` (one of `schema.CLAIMS`: a feed to poll, a watch to check) with
        these keys for ``claimant`` until ``until`` (epoch seconds), once across threads and processes:
        the keys taken. A row is taken when no one holds it (its claim ended by ``now``) or
        ``claimant`` does; with ``force``, whoever holds it. Called outside `transaction`, it commits
        at once and never waits for another transaction's writer lock (a long ingest)."""
        ...

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

    def find_existing_many(self, keys: Sequence[ArticleKey]) -> list[dict | None]: ...

    def near_duplicates(
        self, norms: Sequence[str], overlap: float, scope: str | None = None
    ) -> list[dict]: ...

    def near_duplicates_many(
        self, articles: Sequence[tuple[Sequence[str], str | None]], overlap: float
    ) -> list[list[dict]]: ...

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

    def loading(self) -> AbstractContextManager[None]:
        """Around an ingest or a migration: what the store writes faster once, after a bulk load (see
        `PostgresStore.loading`), it writes then."""
        ...

    def settle(self, stored: int) -> None:
        """After an ingest that stored ``stored`` sentences: whatever the database needs to answer
        at full speed at once (see `PostgresStore.settle`)."""
        ...

    # -- keyword search (BM25 over the stemmed words of sentences and articles) ----------------

    def keyword_stories(self, words: Sequence[str], filters: Filters, limit: int) -> list[int]:
        """The article pk of each of the ``limit`` sentences that best match any of ``words`` (BM25),
        best first, of the articles ``filters`` lets through (an article once per sentence)."""
        ...

    def keyword_scores(self, words: Sequence[str], article_pks: Sequence[int]) -> dict[int, float]:
        """Each of these articles' BM25 for any of ``words``, the title weighing twice the text (higher
        is better); articles holding none of the words are left out."""
        ...

    def sentence_term_counts(self, terms: Mapping[str, str]) -> dict[str, int]:
        """How many sentences hold each term, keyed as given: ``terms`` maps a porter stem (as SQLite's
        index holds it) to a word it came from, for a backend whose index stems the word its own way."""
        ...


class PassageVectors(Protocol):
    """The passage vectors the engine searches, keyed by passage pk, whose score is the cosine: FAISS
    files in the data dir (`index.storage.vectors.PassageIndex`) or a pgvector table beside a
    PostgreSQL store (`index.storage.postgres.vectors.PgVectorIndex`). The engine changes them only
    after the store has committed the passages, and records the store's generation with `save`."""

    generation: int | None  # the store's generation these vectors are known to follow (None: unknown)

    @property
    def count(self) -> int: ...

    @property
    def saved(self) -> bool:
        """Whether what other processes load holds every change made here."""
        ...

    @property
    def saved_generation(self) -> int | None:
        """The generation the last `save` recorded where other processes load from (None if none)."""
        ...

    @property
    def info(self) -> dict[str, object]: ...

    def load(
        self,
        expected_count: int,
        rebuild: RebuildSource,
        generation: int | None = None,
        *,
        persist: bool = True,
        behind_ok: bool = False,
    ) -> None: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def loading(self) -> AbstractContextManager[None]:
        """Around an ingest's adds: what the index builds faster once, after a bulk load, it builds then."""
        ...

    def remove(self, ids: Sequence[int] | np.ndarray) -> None: ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]: ...

    def save(self, generation: int | None = None) -> None: ...
