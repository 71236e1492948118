"""The store's behaviour on both backends: the SQLite store and the PostgreSQL one answer the engine's
statements alike (one parametrised `store` fixture). The interface-level tests of test_store.py run
here again, on each backend, through this module's fixture."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

# The imported tests are collected here too: this module's `store` fixture runs them on each backend.
from test_store import (  # noqa: F401
    _article,
    _insert,
    test_a_failed_transaction_writes_nothing,
    test_a_nested_transaction_commits_with_the_outer_one_and_reads_its_rows_meanwhile,
    test_dates_are_compared_as_days_not_as_text,
    test_filters_select_by_own_or_copying_outlet_and_by_day,
    test_find_existing_by_id_then_url_then_text_preferring_the_story,
    test_near_duplicates_are_the_stories_sharing_enough_on_both_sides_most_first,
    test_replace_article_keeps_the_pk_and_drops_the_old_sentences_and_passages,
    test_settings_and_schema_version,
)

from index.core.errors import EngineError
from index.core.settings import Settings
from index.engine import Engine
from index.engine.parts import open_store
from index.features.saved_questions import save_question, saved_question
from index.features.watch import Watches
from index.storage.interface import NewsStore
from index.storage.postgres import schema as pg_schema
from index.storage.postgres.store import PostgresStore
from index.storage.schema import TABLES
from index.storage.store import Filters, Store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewsStore]:
    """Each test once on the SQLite store, once on the PostgreSQL one (a fresh database)."""
    if request.param == "sqlite":
        opened: NewsStore = Store(tmp_path / "data" / "newsbot.db")
    else:
        opened = PostgresStore(request.getfixturevalue("pg_url"))
    yield opened
    opened.close()


def test_settings_generation_and_last_ingest(store: NewsStore) -> None:
    assert store.generation() == 0
    with store.transaction():
        assert store.bump_generation() == 1
        assert store.bump_generation() == 2
    assert store.generation() == 2
    assert store.last_ingest(None) is None
    store.set_last_ingest([None, "42"], "2024-03-01T10:00:00+00:00")
    store.set_last_ingest(["42"], "2024-03-02T10:00:00+00:00")
    assert store.last_ingest(None) == "2024-03-01T10:00:00+00:00"  # shared news's own
    assert store.last_ingest("42") == "2024-03-02T10:00:00+00:00"  # a server sees its own and shared
    assert store.last_ingest("7") == "2024-03-01T10:00:00+00:00"


def test_a_rolled_back_generation_is_not_kept(store: NewsStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.bump_generation()
        raise RuntimeError("crash")
    assert store.generation() == 0


def test_articles_sentences_and_passages_are_stored_found_and_deleted(store: NewsStore) -> None:
    first = _article(store, "a", ["n1", "n2"], url="https://x.example/a", meta={"tag": "ü"})
    second = _article(store, "b", ["n3"])
    assert second == first + 1 and store.next_article_pk() == second + 1
    assert store.count("articles") == 2 and store.count("sentences") == 3 and store.count("passages") == 2
    sentences = 'SELECT idx, start, "end", text, norm FROM sentences WHERE article_pk = ? ORDER BY idx'
    rows = store.query(sentences, [first])
    assert rows == [
        {"idx": 0, "start": 0, "end": 1, "text": "s0", "norm": "n1"},
        {"idx": 1, "start": 0, "end": 1, "text": "s1", "norm": "n2"},
    ]
    assert store.query("SELECT meta FROM articles WHERE pk = ?", [first]) == [{"meta": '{"tag": "ü"}'}]
    passages = [r["pk"] for r in store.query("SELECT pk FROM passages WHERE article_pk = ?", [first])]
    with store.transaction():
        assert store.delete_articles([first]) == passages
    assert store.count("articles") == 1 and store.count("sentences") == 1
    assert store.find_existing("a", None, "hash-a") is None


def test_scopes_keep_each_servers_articles_apart(store: NewsStore) -> None:
    shared = _article(store, "a", ["n1"], url="https://x.example/a")
    own = _article(store, "a", ["n1"], url="https://x.example/a", scope="42")
    assert store.find_existing("a", None, "hash-a")["pk"] == shared
    assert store.find_existing("a", None, "hash-a", scope="42")["pk"] == own
    assert store.find_existing("a", None, "hash-a", scope="7") is None
    assert store.article_in_scope("https://x.example/a", "42")["pk"] == own
    assert store.article_in_scope("a", None)["pk"] == shared
    assert store.article_in_scope("a", "7") is None
    assert [r["pk"] for r in store.near_duplicates(["n1"], 0.8, scope="42")] == [own]
    with pytest.raises(Exception, match="(?i)unique"), store.transaction():  # ids are unique per scope
        _insert(store, {"id": "a", "title": "a", "text": "x", "content_hash": "h", "scope": "42"})


def test_a_boilerplate_lines_holders_beyond_those_read_are_counted_by_the_index(
    store: NewsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy check's bounded reads (see test_store.py) decide alike on both backends."""
    monkeypatch.setattr("index.storage.store.HOLDERS_CHECKED", 2)
    story = _article(store, "story", ["a", "b", "c", "d", "z"], source="Gazette")
    others = [_article(store, f"other{n}", ["z", f"p{n}", f"q{n}", f"r{n}", f"t{n}"]) for n in range(4)]
    assert [r["pk"] for r in store.near_duplicates(["a", "b", "c", "d", "z"], 0.8)] == [story]
    assert [r["pk"] for r in store.near_duplicates(["a", "b", "d", "z"], 0.8)] == [story]
    assert [r["pk"] for r in store.near_duplicates(["z", "m1", "m2", "m3", "m4"], 0.2)] == others[-2:]


def test_sqlite_statements_the_engine_sends_run_alike(store: NewsStore) -> None:
    """INSERT OR IGNORE / OR REPLACE, an upsert on an expression index, lastrowid, rowid, julianday."""
    with store.transaction():
        first = store.execute(
            "INSERT INTO watches (query, scope, channel, created_at, last_pk) VALUES (?, ?, ?, ?, ?)",
            ["storm", None, 2**62, "2024-03-01T10:00:00+00:00", 0],
        )
        second = store.execute(
            "INSERT INTO watches (query, scope, channel, created_at, last_pk) VALUES (?, ?, ?, ?, ?)",
            ["ferry", "42", None, "2024-03-01T10:00:00+00:00", 0],
        )
        assert (first.lastrowid, second.lastrowid, first.rowcount) == (1, 2, 1)
        store.execute("INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)", ["salt", "one"])
        ignored = store.execute("INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)", ["salt", "two"])
        assert ignored.rowcount == 0
        for text in ("first", "second"):
            store.execute(
                "INSERT OR REPLACE INTO saved_questions (key, text, scope, saved_at) VALUES (?, ?, ?, ?)",
                ["k", text, None, 1.5],
            )
        vote = (
            "INSERT INTO feedback (question, article_id, article_scope, sentence, vote, guild_id, user_hash, "
            "voted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_hash, question, article_id, "
            "coalesce(article_scope, ''), sentence) DO UPDATE SET vote = excluded.vote"
        )
        store.execute(vote, ["q", "a", None, "s", 1, None, "u", "t"])
        store.execute(vote, ["q", "a", None, "s", -1, None, "u", "t"])
        store.execute("INSERT INTO feeds (url, added_at) VALUES (?, ?)", ["https://f.example/rss", "t"])
        store.execute_many(
            "INSERT OR IGNORE INTO feed_items (feed_url, scope, guid, link, seen_at) VALUES (?, ?, ?, ?, ?)",
            [
                ("https://f.example/rss", None, "old", None, "2024-03-01T12:00:00+00:00"),
                ("https://f.example/rss", None, "old", None, "2024-03-01T12:00:00+00:00"),
                ("https://f.example/rss", None, "new", None, "2024-03-01T12:00:00.5+00:00"),
            ],
        )
    assert store.query("SELECT channel FROM watches WHERE pk = ?", [1]) == [{"channel": 2**62}]
    assert store.get_setting("salt") == "one"
    assert store.query("SELECT text, saved_at FROM saved_questions") == [{"text": "second", "saved_at": 1.5}]
    assert store.query("SELECT vote FROM feedback") == [{"vote": -1}]
    older = store.query(  # as times, not text: "12:00:00+00:00" sorts before "12:00:00.5+00:00" as text too
        "SELECT rowid, guid FROM feed_items WHERE julianday(seen_at) < julianday(?)",
        ["2024-03-01T13:00:00.25+01:00"],
    )
    assert [r["guid"] for r in older] == ["old"]
    with store.transaction():
        store.execute_many("DELETE FROM feed_items WHERE rowid = ?", [(r["rowid"],) for r in older])
    assert [r["guid"] for r in store.query("SELECT guid FROM feed_items")] == ["new"]
    assert store.query("SELECT pk % ? AS r FROM watches ORDER BY pk", [2]) == [{"r": 1}, {"r": 0}]


def test_a_thread_inside_a_transaction_reads_its_own_rows_and_no_other_does(store: NewsStore) -> None:
    seen: dict[str, int] = {}
    written, checked = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction():
            _insert(store, {"id": "a", "title": "a", "text": "x", "content_hash": "h"})
            seen["writer"] = store.count("articles")
            written.set()
            checked.wait(10)

    assert store.count("articles") == 0  # (SQLite makes a thread's reader at its first read)
    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    seen["reader"] = store.count("articles")  # while the writer's transaction is open
    checked.set()
    thread.join(10)
    assert seen == {"writer": 1, "reader": 0}
    assert store.count("articles") == 1


def test_an_inner_transaction_that_fails_is_undone_alone(store: NewsStore) -> None:
    with store.transaction():
        _insert(store, {"id": "kept", "title": "a", "text": "x", "content_hash": "h"})
        with pytest.raises(RuntimeError), store.transaction():
            _insert(store, {"id": "undone", "title": "a", "text": "x", "content_hash": "h2"})
            raise RuntimeError("one chunk fails")
    assert [r["id"] for r in store.query("SELECT id FROM articles")] == ["kept"]


def test_the_postgres_schema_has_every_sqlite_table_and_column(pg_url: str, tmp_path: Path) -> None:
    sqlite = Store(tmp_path / "newsbot.db")
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        for table in TABLES:
            ours = {r["name"] for r in sqlite.query(f"PRAGMA table_info([{table}])")}
            theirs = {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
                )
            }
            assert ours <= theirs and theirs - ours <= {"rowid", "tsv"}, table  # tsv: keyword search
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == [
            (n,) for n in range(1, len(pg_schema.MIGRATIONS) + 1)
        ]
    sqlite.close()


def test_opening_again_migrates_nothing_and_another_schema_is_left_alone(pg_url: str) -> None:
    opened = PostgresStore(pg_url)
    with pytest.raises(ValueError, match="no table 'articles; --'"):  # a name, never SQL
        opened.count("articles; --")
    opened.close()
    with psycopg.connect(pg_url) as conn:
        assert pg_schema.migrate(conn) == []
        conn.execute("UPDATE settings SET value = '9' WHERE key = 'schema_version'")
        conn.execute("DELETE FROM schema_migrations")
        conn.commit()
        assert not pg_schema.readable(conn) and pg_schema.migrate(conn) == []
    settings = Settings(data_dir=Path("unused"), database_url=pg_url, _env_file=None)
    with pytest.raises(EngineError, match=r"schema 9; this one reads 3 .* into a new database"):
        open_store(settings)


def test_two_processes_opening_a_new_database_at_once_migrate_it_once(pg_url: str) -> None:
    stores: list[PostgresStore] = []
    threads = [threading.Thread(target=lambda: stores.append(PostgresStore(pg_url))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(stores) == 3 and stores[0].get_setting("schema_version") == "3"
    assert stores[0].query("SELECT count(*) AS n FROM schema_migrations") == [
        {"n": len(pg_schema.MIGRATIONS)}
    ]
    for opened in stores:
        opened.close()


def test_the_engine_opens_postgres_when_the_url_is_set_and_logs_it_masked(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = pg_url.replace("postgres:@", "postgres:hunter2@")  # pgserver trusts local users: any password
    settings = Settings(data_dir=Path("unused"), database_url=secret, _env_file=None)
    with caplog.at_level(logging.INFO, logger="index.storage.postgres.store"):
        opened = open_store(settings)
    assert isinstance(opened, PostgresStore) and opened.readable
    opened.close()
    assert "postgres:***@" in caplog.text and "hunter2" not in caplog.text
    assert "hunter2" not in repr(settings)


def test_an_unreachable_database_says_what_to_check(tmp_path: Path) -> None:
    url = f"postgresql://newsbot:hunter2@/newsbot?host={tmp_path}"  # no server listens there
    with pytest.raises(EngineError, match=r"newsbot:\*\*\*@.*check NEWSBOT_DATABASE_URL") as raised:
        open_store(Settings(data_dir=tmp_path, database_url=url, _env_file=None))
    assert "hunter2" not in str(raised.value)


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, hash_settings: Settings) -> Settings:
    """The hash-model settings, with the tables in the data dir or in a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return hash_settings
    return hash_settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})


def test_the_engine_ingests_follows_feeds_watches_and_forgets_alike(
    backend_settings: Settings, sample_dir: Path
) -> None:
    """Feeds, watches, saved questions and forget through the engine (the answers themselves are
    compared across backends in tests/index/test_engine_postgres.py)."""
    engine = Engine(backend_settings)
    try:
        assert engine.ingest_paths([sample_dir]).new == 1
        assert engine.ingest_paths([sample_dir]).skipped == 1  # the same article again
        stats = engine.stats()
        assert stats["articles"] == 1 and stats["passages"] == engine.store.count("passages") > 0
        feeds, now = engine.feeds, datetime(2024, 3, 1, 12, tzinfo=UTC)
        feeds.add("https://f.example/rss", "F", scope="42", most=3, now=now)
        feeds.mark_seen("https://f.example/rss", [("g1", None), ("g2", None)], now, scope="42")
        assert feeds.seen("https://f.example/rss", ["g1", "g3"], scope="42") == {"g1"}
        assert feeds.forget_gone("https://f.example/rss", ["g2"], now + timedelta(seconds=0.5)) == 1
        watch = Watches(engine).add("harbour storm", scope="42", channel=2**60)
        assert Watches(engine).list("42") == [watch] and watch.id == 1
        save_question(engine.store, "k", "why?", Filters(scope="42"), keep_days=1)
        assert saved_question(engine.store, "k", "42", keep_days=1).text == "why?"
        ref = engine.store.query("SELECT id FROM articles")[0]["id"]
        engine.forget(ref)
        assert engine.store.count("articles") == engine.store.count("sentences") == 0
    finally:
        engine.close()


def test_a_database_made_before_keyword_search_gets_it_for_the_rows_it_holds(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before:
        before.setattr(pg_schema, "MIGRATIONS", pg_schema.MIGRATIONS[:1])
        old = PostgresStore(pg_url)
        with old.transaction():
            pk = _insert(
                old, {"id": "a", "title": "Ferry news", "text": "The ferry sailed", "content_hash": "h"}
            )
            old.insert_sentences([{"article_pk": pk, "idx": 0, "text": "The ferry sailed at dawn"}])
        old.close()
    upgraded = PostgresStore(pg_url)
    try:
        assert upgraded.query("SELECT max(version) AS v FROM schema_migrations") == [
            {"v": len(pg_schema.MIGRATIONS)}
        ]
        assert upgraded.keyword_stories(["ferries"], Filters(), 5) == [pk]
        assert upgraded.keyword_scores(["ferry"], [pk]).keys() == {pk}
        assert upgraded.sentence_term_counts({"ferri": "ferry", "dawn": "dawn"}) == {"ferri": 1, "dawn": 1}
    finally:
        upgraded.close()
