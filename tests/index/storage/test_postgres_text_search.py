"""Keyword search on PostgreSQL: tsvector columns, term statistics kept by triggers, and a BM25 that
scores as FTS5's does (checked against FTS5 itself on the same rows)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from index.storage.postgres.text_search import PENDING_DDL, POSTINGS_DDL, TEXT_SEARCH_DDL, PostgresTextSearch
from index.storage.store import Filters

# Words whose english and porter stems agree, and no trailing stop words: lengths and IDFs are FTS5's.
ARTICLES = [
    ("Ferry sailed", ["The ferry sailed to the island", "Storms closed the harbour"], None),
    ("Harbour storms", ["The council met on Monday", "Storms hit the island harbour"], None),
    ("Council budget", ["The council approved the budget", "The ferry budget grew"], "guild-1"),
    ("Island school", ["A school opened on the island", "Pupils walked to school"], None),
]


class Tables(PostgresTextSearch):
    """The mixin over bare tables the test makes itself: its ``query`` is the store's contract (``?``
    placeholders, rows as dicts)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
            return conn.execute(sql.replace("?", "%s"), list(params)).fetchall()

    def run(self, sql: str, params: Iterable[Any] = ()) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql, list(params))


@pytest.fixture
def tables(pg_url: str) -> Iterator[Tables]:
    tables = Tables(pg_url)
    tables.run(
        "CREATE TABLE articles (pk BIGINT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, "
        "source TEXT, published TEXT, copy_of BIGINT, scope TEXT, title_vec BYTEA)"
    )
    tables.run(
        "CREATE TABLE sentences (pk BIGINT PRIMARY KEY, article_pk BIGINT REFERENCES articles(pk), "
        "idx INTEGER, text TEXT, vec BYTEA)"
    )
    for statement in (*TEXT_SEARCH_DDL, *POSTINGS_DDL, *PENDING_DDL):  # migrations 2, 4 and 6
        tables.run(statement)
    yield tables


def _fill(tables: Tables) -> None:
    sentence_pk = 0
    for pk, (title, sentences, scope) in enumerate(ARTICLES, 1):
        tables.run(
            "INSERT INTO articles (pk, title, text, scope) VALUES (%s, %s, %s, %s)",
            [pk, title, " ".join(sentences), scope],
        )
        for idx, text in enumerate(sentences):
            sentence_pk += 1
            tables.run(
                "INSERT INTO sentences (pk, article_pk, idx, text) VALUES (%s, %s, %s, %s)",
                [sentence_pk, pk, idx, text],
            )


def _fts5() -> sqlite3.Connection:
    """The same rows in FTS5 tables as the SQLite store makes them (porter, title weighed 2 by bm25)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE sentences_fts USING fts5(text, tokenize='porter')")
    db.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, tokenize='porter')")
    sentence_pk = 0
    for pk, (title, sentences, _) in enumerate(ARTICLES, 1):
        db.execute(
            "INSERT INTO articles_fts (rowid, title, text) VALUES (?, ?, ?)", [pk, title, " ".join(sentences)]
        )
        for text in sentences:
            sentence_pk += 1
            db.execute("INSERT INTO sentences_fts (rowid, text) VALUES (?, ?)", [sentence_pk, text])
    return db


def test_sentences_are_ranked_by_fts5s_bm25(tables: Tables) -> None:
    _fill(tables)
    words = ["ferry", "island"]
    ours = tables.ranked_sentences(words, Filters(scope="guild-1"), 10)
    fts5 = (
        _fts5()
        .execute(
            "SELECT rowid, -bm25(sentences_fts) FROM sentences_fts "
            'WHERE sentences_fts MATCH \'"ferry" OR "island"\' ORDER BY rank'
        )
        .fetchall()
    )
    assert [r["pk"] for r in ours] == [pk for pk, _ in fts5]
    assert [r["score"] for r in ours] == pytest.approx([score for _, score in fts5], rel=1e-9)
    assert tables.keyword_stories(words, Filters(scope="guild-1"), 10) == [r["article_pk"] for r in ours]


def test_the_scope_filter_applies_before_the_cut(tables: Tables) -> None:
    _fill(tables)
    assert tables.keyword_stories(["budget"], Filters(), 10) == []  # only a server's own article says it
    assert tables.keyword_stories(["budget"], Filters(scope="guild-1"), 10) == [3, 3]
    assert tables.keyword_stories(["island", "school"], Filters(), 2) == [4, 4]  # school: the rarer word
    assert tables.keyword_stories([], Filters(), 10) == []


def test_articles_are_scored_with_the_title_weighing_twice_as_fts5_does(tables: Tables) -> None:
    _fill(tables)
    words = ["harbour", "storms", "ferry"]
    ours = tables.keyword_scores(words, [1, 2, 3, 4])
    fts5 = dict(
        _fts5().execute(
            "SELECT rowid, -bm25(articles_fts, 2.0, 1.0) FROM articles_fts "
            'WHERE articles_fts MATCH \'"harbour" OR "storms" OR "ferry"\''
        )
    )
    assert ours.keys() == fts5.keys() == {1, 2, 3}  # the school story holds none of the words
    assert ours == pytest.approx(fts5, rel=1e-9)
    assert tables.keyword_scores(words, [4]) == {}
    assert tables.keyword_scores([], [1]) == {}


def test_term_counts_follow_inserts_updates_and_deletes(tables: Tables) -> None:
    _fill(tables)
    counts = {"ferri": "ferries", "storm": "storms", "zebra": "zebra", "the": "the"}
    assert tables.sentence_term_counts(counts) == {"ferri": 2, "storm": 2, "zebra": 0, "the": 0}
    tables.run("DELETE FROM sentences WHERE pk = 1")
    tables.run("UPDATE sentences SET text = 'Ferries and zebras' WHERE pk = 4")
    tables.run("UPDATE sentences SET vec = '\\x00' WHERE pk = 6")  # no new words: nothing recounted
    assert tables.sentence_term_counts(counts) == {"ferri": 2, "storm": 1, "zebra": 1, "the": 0}
    totals = tables.query(
        "SELECT docs, tokens FROM text_search_terms WHERE source = 'sentences' AND lexeme = ''"
    )
    assert totals == [{"docs": 7, "tokens": 4 + 5 + 3 + 5 + 4 + 6 + 4}]  # the rows left, and their words
    tables.run("UPDATE articles SET title = 'Zebra crossing' WHERE pk = 4")
    assert tables.keyword_scores(["zebra"], [4]).keys() == {4}
    assert tables.sentence_term_counts({}) == {}


def test_rows_stored_before_the_triggers_are_counted_once(pg_url: str) -> None:
    tables = Tables(pg_url)
    tables.run(
        "CREATE TABLE articles (pk BIGINT PRIMARY KEY, title TEXT, text TEXT, scope TEXT, published TEXT)"
    )
    tables.run("CREATE TABLE sentences (pk BIGINT PRIMARY KEY, article_pk BIGINT, text TEXT)")
    tables.run("INSERT INTO articles VALUES (1, 'Ferry', 'The ferry sailed', NULL)")
    tables.run("INSERT INTO sentences VALUES (1, 1, 'The ferry sailed')")
    for _ in range(2):  # the statements of migration 2 are each a no-op when run again
        for statement in TEXT_SEARCH_DDL:
            tables.run(statement)
    for statement in (*POSTINGS_DDL, *PENDING_DDL):  # migration 4 counts the rows again, from their postings
        tables.run(statement)
    assert tables.sentence_term_counts({"ferri": "ferry"}) == {"ferri": 1}
    assert tables.keyword_stories(["ferry"], Filters(), 5) == [1]
    assert tables.query("SELECT docs, tokens FROM text_search_terms WHERE lexeme = '' ORDER BY source") == [
        {"docs": 1, "tokens": 1 + 3},  # articles: the title's word, then the text's
        {"docs": 1, "tokens": 3},
    ]
