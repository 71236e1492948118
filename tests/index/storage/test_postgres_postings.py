"""Keyword search's postings on PostgreSQL (migrations 4 and 5): back-filled from the rows a database held
before it, and kept in step by ingest, forget, an edit in place, a moved article and reindex, so that a
database's postings and term counts are always those of a fresh database holding the same news."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import psycopg
import pytest

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.storage.postgres import schema
from index.storage.postgres.store import PostgresStore
from index.storage.postgres.text_search import ARTICLES, Indexed
from index.storage.store import Filters

KEPT = [
    ArticleIn(
        title="Ferry strike ends",
        text="The ferry crews ended their strike on Monday. Sailings to the island resume at dawn.",
        id="ferry",
        source="Coast News",
        published="2024-03-01",
    ),
    ArticleIn(
        title="Harbour storms",
        text="Storms closed the island harbour. The council said the ferry would wait.",
        id="storms",
        source="Daily Post",
        published="2024-03-02",
    ),
]
FORGOTTEN = ArticleIn(
    title="School opens",
    text="A new school opened on the island. Pupils walked to the school through the storms.",
    id="school",
    published="2024-02-01",
)
EDITED = ArticleIn(  # the ferry story again, edited by its outlet: replaced in place
    title="Ferry strike ends after talks",
    text="The ferry crews ended their strike after talks. Sailings to the island resume on Tuesday.",
    id="ferry",
    source="Coast News",
    published="2024-03-01",
)
LATER = ArticleIn(
    title="Bridge repairs",
    text="Workers repaired the island bridge. The ferry waited for them.",
    id="bridge",
    source="Coast News",
    published="2024-03-03",
)
MOVED_DAY = "2024-05-01"  # the storms story's date, set in place (its sentences stay)
WORDS = ["ferry", "island", "storms", "school", "talks"]


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The postings and counts, keyed by what the rows say rather than by their pks."""
    with psycopg.connect(url) as conn:
        return {
            "sentences": conn.execute(
                "SELECT p.lexeme, a.id, s.idx, p.scope, p.published, p.tf, p.len FROM sentence_postings p "
                "JOIN sentences s ON s.pk = p.sentence_pk AND s.article_pk = p.article_pk "
                "JOIN articles a ON a.pk = p.article_pk AND a.scope IS NOT DISTINCT FROM p.scope "
                "AND a.published IS NOT DISTINCT FROM p.published ORDER BY 1, 2, 3"
            ).fetchall(),
            "articles": conn.execute(
                "SELECT p.lexeme, a.id, p.tf, p.len FROM article_postings p "
                "JOIN articles a ON a.pk = p.article_pk ORDER BY 1, 2"
            ).fetchall(),
            "counts": conn.execute(
                "SELECT source, lexeme, docs, tokens FROM text_search_terms WHERE docs <> 0 ORDER BY 1, 2"
            ).fetchall(),
            "postings": conn.execute(
                "SELECT (SELECT count(*) FROM sentence_postings), (SELECT count(*) FROM article_postings)"
            ).fetchall(),
        }


def _ranked(store: PostgresStore, filters: Filters) -> list[tuple[str, int, float]]:
    """The keyword search's best sentences as (article id, sentence idx, score)."""
    rows = store.ranked_sentences(WORDS, filters, 10)
    where = {
        r["pk"]: r
        for r in store.query(
            "SELECT s.pk, s.idx, a.id FROM sentences s JOIN articles a ON a.pk = s.article_pk"
        )
    }
    return [(where[r["pk"]]["id"], where[r["pk"]]["idx"], round(r["score"], 9)) for r in rows]


def _scored(store: PostgresStore) -> dict[str, float]:
    ids = {r["pk"]: r["id"] for r in store.query("SELECT pk, id FROM articles")}
    return {ids[pk]: round(score, 9) for pk, score in store.keyword_scores(WORDS, list(ids)).items()}


def _on(settings: Settings, url: str, data_dir: Path) -> Settings:
    return settings.model_copy(update={"database_url": url, "data_dir": data_dir})


def test_postings_follow_forget_edit_move_and_reindex(
    hash_settings: Settings, pg_url: str, pg_other_url: str, tmp_path: Path
) -> None:
    used = Engine(_on(hash_settings, pg_url, tmp_path / "used"))
    fresh = Engine(_on(hash_settings, pg_other_url, tmp_path / "fresh"))
    try:
        used.ingest([*KEPT, FORGOTTEN])
        used.ingest([FORGOTTEN], scope="42")  # a server's own copy of the school story
        gone = used.store.query("SELECT pk FROM articles WHERE id = 'school' AND scope IS NULL")[0]["pk"]
        used.forget("school")
        used.ingest([EDITED])
        used.store.execute("UPDATE articles SET published = ? WHERE id = 'storms'", [MOVED_DAY])
        used.reindex()

        fresh.ingest([EDITED, dataclasses.replace(KEPT[1], published=MOVED_DAY)])
        fresh.ingest([FORGOTTEN], scope="42")
        assert _snapshot(pg_url) == _snapshot(pg_other_url)
        assert _snapshot(pg_url)["sentences"] != []
        for table in ("sentence_postings", "article_postings"):  # the forgotten story's are gone
            assert used.store.query(f"SELECT count(*) AS n FROM {table} WHERE article_pk = ?", [gone]) == [
                {"n": 0}
            ]
        assert isinstance(used.store, PostgresStore) and isinstance(fresh.store, PostgresStore)
        for filters in (
            Filters(),
            Filters(scope="42"),
            Filters(since=MOVED_DAY),
            Filters(outlet="Coast News"),
        ):
            assert _ranked(used.store, filters) == _ranked(fresh.store, filters)
        assert {i for i, _, _ in _ranked(used.store, Filters(since=MOVED_DAY))} == {"storms"}
        assert {i for i, _, _ in _ranked(used.store, Filters(scope="42"))} == {"ferry", "storms", "school"}
        assert ("talk", "ferry") in {row[:2] for row in _snapshot(pg_url)["articles"]}  # the edit's words
        assert _scored(used.store) == _scored(fresh.store) != {}
    finally:
        used.close()
        fresh.close()


def _fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for pk, (article, scope) in enumerate([(KEPT[0], None), (KEPT[1], "42"), (FORGOTTEN, None)], 1):
            conn.execute(
                "INSERT INTO articles (pk, id, title, text, published, content_hash, scope) "
                "VALUES (%s, %s, %s, %s, %s, 'h', %s)",
                [pk, article.id, article.title, article.text, article.published, scope],
            )
            for idx, text in enumerate(article.text.split(". ")):
                conn.execute(
                    "INSERT INTO sentences (article_pk, idx, text) VALUES (%s, %s, %s)", [pk, idx, text]
                )


def test_migration_4_back_fills_the_postings_of_the_rows_stored(
    pg_url: str, pg_other_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with monkeypatch.context() as patch:  # a database of the version before: tsvector columns
            patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
            assert schema.migrate(conn) == [1, 2, 3]
        _fill(pg_url)
        assert schema.migrate(conn) == [4, 5, 6]
        columns = "SELECT count(*) FROM information_schema.columns WHERE column_name = 'tsv'"
        assert conn.execute(columns).fetchone() == (0,)  # the tsvector columns, and their indexes, are gone
        # migration 5's trigger functions, each computing a row's tsvector once
        source = "SELECT prosrc FROM pg_proc WHERE proname = 'article_postings_insert'"
        assert ARTICLES.write("added", 1) in conn.execute(source).fetchone()[0]  # type: ignore[index]
        assert "OFFSET 0" in ARTICLES.write("added", 1)
    with psycopg.connect(pg_other_url, autocommit=True) as conn:
        assert schema.migrate(conn) == [1, 2, 3, 4, 5, 6]
    _fill(pg_other_url)  # the same rows, stored after the migration: the triggers write their postings
    migrated, fresh = _snapshot(pg_url), _snapshot(pg_other_url)
    assert migrated == fresh and migrated["postings"][0][0] > 0 and migrated["articles"] != []
    old, new = PostgresStore(pg_url), PostgresStore(pg_other_url)
    try:
        assert _ranked(old, Filters(scope="42")) == _ranked(new, Filters(scope="42")) != []
    finally:
        old.close()
        new.close()


def test_a_load_into_an_empty_database_writes_its_postings_at_its_end(
    hash_settings: Settings, pg_url: str, pg_other_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first load only notes its rows as pending (keyword search does not see them yet) and writes
    their postings at its end, all at once into empty postings, or, killed before, at the end of the
    next ingest, a batch at a time beside the postings that ingest's triggers wrote: the same postings
    and counts as the triggers write a chunk at a time, an article replaced while pending included."""
    monkeypatch.setattr("index.reading.ingest.CHUNK_ARTICLES", 2)  # several chunks, each committed
    monkeypatch.setattr("index.storage.postgres.store.PENDING_BATCH", 3)  # several batches a table
    pending: list[int] = []
    write = PostgresStore.write_pending

    def counted(store: PostgresStore) -> None:
        pending.append(store.query("SELECT count(*) AS n FROM postings_pending")[0]["n"])
        write(store)

    monkeypatch.setattr(PostgresStore, "write_pending", counted)
    loaded = Engine(_on(hash_settings, pg_url, tmp_path / "loaded"))
    chunked = Engine(_on(hash_settings, pg_other_url, tmp_path / "chunked"))
    try:
        with monkeypatch.context() as killed:  # the load stops before its end
            killed.setattr(PostgresStore, "write_pending", lambda store: None)
            loaded.ingest([*KEPT, FORGOTTEN, EDITED])  # the edit replaces the pending ferry story
        assert isinstance(loaded.store, PostgresStore)
        assert _ranked(loaded.store, Filters()) == [] and _snapshot(pg_url)["postings"] == [(0, 0)]
        loaded.ingest([LATER])  # not a first load: the triggers write its postings, then the pending
        chunked.ingest([KEPT[0]])  # a load of one article into an empty database (pending, then written)
        chunked.ingest([KEPT[1], FORGOTTEN, EDITED, LATER])  # into a database holding articles: the triggers
        # pending at each end: 3 articles and 6 sentences (the replaced ferry story's first 2 sentences
        # left the list when deleted), the one article and its 2 sentences, then none
        assert pending == [9, 3, 0]
        assert _snapshot(pg_url) == _snapshot(pg_other_url)
        assert ("talk", "ferry") in {row[:2] for row in _snapshot(pg_url)["articles"]}  # the edit's words
        assert isinstance(chunked.store, PostgresStore)
        assert _ranked(loaded.store, Filters()) == _ranked(chunked.store, Filters()) != []
        assert loaded.store.query("SELECT count(*) AS n FROM postings_pending") == [{"n": 0}]
        for url in (pg_url, pg_other_url):  # the index a question reads, built again after a first load
            with psycopg.connect(url) as conn:
                keys = "SELECT conname FROM pg_constraint WHERE conname LIKE '%_postings_pkey'"
                assert sorted(row[0] for row in conn.execute(keys)) == [
                    "article_postings_pkey",
                    "sentence_postings_pkey",
                ]
    finally:
        loaded.close()
        chunked.close()


def test_a_first_load_keeps_the_postings_of_a_table_whose_pass_ended_when_the_others_fails(
    hash_settings: Settings, pg_url: str, pg_other_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two tables' postings are written side by side, a transaction each: when the sentences'
    pass fails, the articles' stands, the sentences stay pending, and the next ingest writes them, to
    the same postings and counts as a load that never failed."""
    write = PostgresStore._write_first_pending

    def failing(store: PostgresStore, table: Indexed) -> None:
        if table.source == "sentences":
            raise RuntimeError("the sentences' pass failed")
        write(store, table)

    loaded = Engine(_on(hash_settings, pg_url, tmp_path / "loaded"))
    unbroken = Engine(_on(hash_settings, pg_other_url, tmp_path / "unbroken"))
    try:
        with monkeypatch.context() as broken:
            broken.setattr(PostgresStore, "_write_first_pending", failing)
            with pytest.raises(RuntimeError, match="sentences' pass"):
                loaded.ingest([*KEPT, FORGOTTEN])
        pending = "SELECT source, count(*) AS n FROM postings_pending GROUP BY source"
        assert loaded.store.query(pending) == [{"source": "sentences", "n": 6}]  # 3 articles, 2 each
        assert {row[1] for row in _snapshot(pg_url)["articles"]} == {"ferry", "storms", "school"}
        loaded.ingest([LATER])  # its own postings by the triggers, then the pending sentences' in batches
        unbroken.ingest([*KEPT, FORGOTTEN])
        unbroken.ingest([LATER])
        assert loaded.store.query(pending) == []
        assert _snapshot(pg_url) == _snapshot(pg_other_url)
    finally:
        loaded.close()
        unbroken.close()
