"""The SQLite store on its own: filters, lookups, near-duplicate search and in-place replacement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.core.models import ArticleKey
from index.storage.store import Filters, Store, from_blobs, iso_day, to_blob


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "data" / "newsbot.db")
    yield store
    store.close()


def _insert(store: Store, row: dict[str, object]) -> int:
    """One article row (inside a transaction), numbered as the ingest numbers its batches."""
    pk = store.next_article_pk()
    store.insert_articles([{**row, "pk": pk}])
    return pk


def _article(store: Store, id: str, norms: list[str], **fields: object) -> int:
    """An article whose sentences have the given norms (texts "s0", "s1", ...), with one passage."""
    row = {"id": id, "title": id, "text": " ".join(norms), "content_hash": f"hash-{id}", **fields}
    with store.transaction():
        pk = _insert(store, row)
        store.insert_sentences(
            [
                {"article_pk": pk, "idx": i, "start": 0, "end": 1, "text": f"s{i}", "norm": n}
                for i, n in enumerate(norms)
            ]
        )
        passage = {
            "pk": store.next_passage_pk(),
            "article_pk": pk,
            "idx": 0,
            "first": 0,
            "last": len(norms) - 1,
        }
        store.insert_passages([passage])
    return pk


@pytest.mark.parametrize(
    ("text", "day"),
    [("2024-03-01", "2024-03-01"), (" 2024-12-31 ", "2024-12-31"), ("2024-02-29", "2024-02-29")],
)
def test_iso_day_accepts_real_days(text: str, day: str) -> None:
    assert iso_day(text) == day


@pytest.mark.parametrize("text", ["2024/03/01", "2023-02-29", "yesterday", "2024-3-1", "20240301"])
def test_iso_day_refuses_anything_else_naming_the_option(text: str) -> None:
    with pytest.raises(ValueError, match="`since` must be a date written year-month-day"):
        iso_day(text, "since")


def test_filters_check_their_dates_and_build_sql() -> None:
    with pytest.raises(ValueError, match=r"`since` \(2024-03-02\) is after `until` \(2024-03-01\)"):
        Filters(since="2024-03-02", until="2024-03-01")
    where, params = Filters(outlet="Gazette", since="2024-03-01", until="2024-03-31").sql("x")
    assert params == ["Gazette", "Gazette", "2024-03-01", "2024-03-31"]
    assert where.count("date(substr(x.published, 1, 10))") == 2  # compared as days, never as text
    assert Filters().sql() == ("a.scope IS NULL", [])  # shared news only
    assert Filters(scope="42").sql() == ("(a.scope IS NULL OR a.scope = ?)", ["42"])


def test_filters_select_by_own_or_copying_outlet_and_by_day(store: Store) -> None:
    story = _article(store, "a", ["n1"], source="Gazette", published="2024-03-01T10:00:00")
    with store.transaction():
        _insert(
            store,
            {
                "id": "c",
                "title": "c",
                "text": "x",
                "content_hash": "h",
                "source": "Courier",
                "copy_of": story,
            },
        )
    _article(store, "b", ["n2"], source="Herald", published="2024-04-01")

    def ids(filters: Filters) -> list[str]:
        where, params = filters.sql()
        return [
            r["id"]
            for r in store.query(f"SELECT id FROM articles a WHERE copy_of IS NULL AND {where}", params)
        ]

    assert ids(Filters(outlet="courier")) == ["a"]  # the story a copy of it ran in
    assert ids(Filters(until="2024-03-01")) == ["a"]  # a datetime on that day counts as on it
    assert ids(Filters(since="2024-03-02")) == ["b"]


def test_dates_are_compared_as_days_not_as_text(store: Store) -> None:
    """Text that is no date (left by data dirs made before dates were checked) never matches a range,
    and a datetime counts on the day it states, whatever its time zone."""
    _article(store, "late", ["n1"], published="2024-03-01T23:30:00-05:00")  # 2024-03-02 in UTC
    _article(store, "junk", ["n2"], published="last week")  # as text, "l" sorts after every digit
    _article(store, "year", ["n3"], published="2024")  # SQLite's date() reads a bare number as a day
    _article(store, "may", ["n4"], published="2024-05-01")

    def ids(filters: Filters) -> list[str]:
        where, params = filters.sql()
        return [r["id"] for r in store.query(f"SELECT id FROM articles a WHERE {where} ORDER BY id", params)]

    assert ids(Filters(since="2024-03-02")) == ["may"]
    assert ids(Filters(until="2024-03-01")) == ["late"]
    assert ids(Filters(since="2024-01-01", until="2024-12-31")) == ["late", "may"]


def test_vectors_round_trip_as_float32_blobs() -> None:
    vectors = np.random.default_rng(0).random((3, 4))
    assert np.array_equal(from_blobs([to_blob(v) for v in vectors], 4), vectors.astype(np.float32))
    assert from_blobs([], 4).shape == (0, 4)


def test_find_existing_by_id_then_url_then_text_preferring_the_story(store: Store) -> None:
    story = _article(store, "a", ["n1"], url="https://x.example/a")
    with store.transaction():
        _insert(store, {"id": "c", "title": "c", "text": "x", "content_hash": "hash-a", "copy_of": story})
    assert store.find_existing("a", None, "other")["by"] == "id"
    assert store.find_existing("new", "https://x.example/a", "other")["by"] == "url"
    by_text = store.find_existing(None, None, "hash-a")
    assert (by_text["by"], by_text["pk"]) == ("content_hash", story)  # the story, not its copy
    assert store.find_existing(None, None, "nothing like it") is None
    keys = [
        ArticleKey(None, None, "nothing like it"),
        ArticleKey("new", "https://x.example/a", "other"),
        ArticleKey("a", None, "other", scope="42"),  # another scope's article is never the one
        ArticleKey("a", "https://x.example/a", "hash-a"),
    ]
    found = store.find_existing_many(keys)
    assert [row and (row["by"], row["pk"]) for row in found] == [None, ("url", story), None, ("id", story)]
    assert store.find_existing_many([]) == []


def test_near_duplicates_are_the_stories_sharing_enough_on_both_sides_most_first(store: Store) -> None:
    same = _article(store, "same", ["a", "b", "c", "d", "e"], source="Gazette")
    four = _article(store, "four", ["a", "b", "c", "d", "x"], source="Courier")
    _article(store, "longer", ["a", "b", "c", "d", "e", *"fghijklmno"])  # holds them all, but is 3x longer
    _article(store, "three", ["a", "b", "c", "y", "z"])
    _article(store, "copy", ["a", "b", "c", "d", "e"], copy_of=same)  # a copy is never the match
    found = store.near_duplicates(["a", "b", "c", "d", "e", "e"], 0.8)
    assert [(r["pk"], r["shared"], r["total"]) for r in found] == [(same, 5, 5), (four, 4, 5)]
    assert found[1]["source"] == "Courier" and found[1]["id"] == "four"
    assert store.near_duplicates([], 0.8) == []
    articles = [(["a", "b", "c", "d", "x"], None), ([], None), (["a", "b", "c", "d", "e"], "42")]
    articles.append((["a"], None))
    assert store.near_duplicates_many(articles, 0.8) == [
        store.near_duplicates(norms, 0.8, scope) for norms, scope in articles
    ]
    assert [r["pk"] for r in store.near_duplicates_many(articles, 0.8)[0]] == [four, same]
    assert store.sentence_norms(four) == {"a", "b", "c", "d", "x"}
    assert [r["id"] for r in store.copies_of([same, four])] == ["copy"] and store.copies_of([]) == []


def test_the_copy_check_reads_the_rarest_sentences_holders_and_a_boilerplate_lines_newest(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("index.storage.store.HOLDERS_CHECKED", 2)
    story = _article(store, "story", ["a", "b", "c", "d", "z"], source="Gazette")
    others = [_article(store, f"other{n}", ["z", f"p{n}", f"q{n}", f"r{n}", f"t{n}"]) for n in range(4)]
    queries: list[tuple[str, list]] = []
    query = Store.query
    monkeypatch.setattr(
        Store, "query", lambda self, sql, params=(): queries.append((sql, params)) or query(self, sql, params)
    )
    assert [r["pk"] for r in store.near_duplicates(["a", "b", "c", "d", "z"], 0.8)] == [story]
    # a story sharing 4 of the 5 holds "a" or "b", the two rarest: their one holder is the candidate,
    # and the holder lists already read show it shares 4: no count of "z"'s holders is needed
    assert len(queries) == 2 and queries[-1][1][0] == f"[{story}]"
    # "z" (a sign-off) is printed by all five stories, more than the 2 read: whether a candidate
    # prints it is then asked of the index
    queries.clear()
    assert [r["pk"] for r in store.near_duplicates(["a", "b", "d", "z"], 0.8)] == [story]
    assert any("count(DISTINCT norm) AS n" in sql for sql, _ in queries)
    # of "z"'s holders only the newest 2 are candidates
    found = store.near_duplicates(["z", "m1", "m2", "m3", "m4"], 0.2)
    assert [r["pk"] for r in found] == others[-2:]


def test_replace_article_keeps_the_pk_and_drops_the_old_sentences_and_passages(store: Store) -> None:
    pk = _article(store, "a", ["n1", "n2"], source="Gazette")
    old_passages = [r["pk"] for r in store.query("SELECT pk FROM passages")]
    with store.transaction():
        removed = store.replace_article(pk, {"text": "new", "content_hash": "new", "meta": {"tag": "x"}})
    assert removed == old_passages
    assert store.count("sentences") == store.count("passages") == 0
    row = store.query("SELECT pk, id, text, source, meta FROM articles")[0]
    assert row == {"pk": pk, "id": "a", "text": "new", "source": "Gazette", "meta": '{"tag": "x"}'}


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        _insert(store, {"id": "a", "title": "a", "text": "x", "content_hash": "h"})
        raise RuntimeError("disk full")
    assert store.count("articles") == 0


def test_a_nested_transaction_commits_with_the_outer_one_and_reads_its_rows_meanwhile(store: Store) -> None:
    """`Engine.forget` stores a story's copies, chunk transactions of their own, inside its delete's."""
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            _insert(store, {"id": "a", "title": "a", "text": "x", "content_hash": "h"})
        assert store.find_existing("a", None, "h") is not None  # the outer one's view, not a reader's
        raise RuntimeError("crash after the inner one")
    assert store.count("articles") == 0


def test_settings_and_schema_version(store: Store) -> None:
    assert store.get_setting("schema_version") == "3"
    assert store.get_setting("model") is None
    store.set_setting("model", "hash")
    store.set_setting("model", "hash-64")
    assert store.get_setting("model") == "hash-64"


def test_connections_are_tuned_for_a_big_database(store: Store) -> None:
    # the writer syncs per checkpoint, not per commit (WAL), and keeps 256 MB of pages; readers map the file
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -262144  # 256 MB
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    reader = store._reader()
    assert reader is not None and reader.execute("PRAGMA mmap_size").fetchone()["mmap_size"] > 0
