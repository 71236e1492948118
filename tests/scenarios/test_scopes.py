"""Scopes: a Discord server's own news beside the shared news, matched, forgotten and upgraded apart.

What storage must do alike runs on SQLite and on PostgreSQL (`backend_engine`); the upgrades of old
data dirs are SQLite's own."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from index.core.errors import EngineError
from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.news.recency import newest_day
from index.storage.store import Filters, published_day

BELL = "The bell was cast in 1820 by the Whitechapel foundry. It was rung again on Sunday after repairs."
FAKE = "The bell was never cast at all. It is a replica made of plastic, the council admitted."


def _bell(text: str = BELL, **fields: object) -> ArticleIn:
    return ArticleIn(title="Bell rings again", text=text, **fields)  # type: ignore[arg-type]


def _articles(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    rows = engine.store.query("SELECT id, scope, source FROM articles ORDER BY pk")
    return [(r["id"], r["scope"], r["source"]) for r in rows]


def test_a_server_cannot_replace_shadow_or_copy_into_shared_news(backend_engine: Engine) -> None:
    url = "https://gazette.example/bell"
    assert backend_engine.ingest([_bell(id="bell", url=url, source="Gazette")]).new == 1
    # The same id and URL with other text, the same text from another outlet: all its own, in server 7.
    report = backend_engine.ingest(
        [_bell(FAKE, id="bell", url=url, source="Gazette"), _bell(source="Courier")], scope="7"
    )
    assert (report.new, report.updated, report.copies) == (2, 0, 0)
    shared = backend_engine.store.query("SELECT text FROM articles WHERE scope IS NULL")
    assert shared == [{"text": BELL}]  # untouched
    assert backend_engine.store.count("articles") == 3
    # Within its own scope the server's articles are matched as ever: the same again is skipped.
    assert backend_engine.ingest([_bell(FAKE, id="bell", url=url, source="Gazette")], scope="7").skipped == 1
    # Another server's copy of the same text is not a wire copy of server 7's either.
    assert backend_engine.ingest([_bell(source="Herald")], scope="8").copies == 0


def _plan(engine: Engine, sql: str, params: list[str]) -> str:
    """How the store runs ``sql``: SQLite's query plan, or PostgreSQL's with sequential scans priced
    out (it would rightly scan a table of three rows, whatever its indexes)."""
    if engine.settings.database_url is None:
        return " ".join(row["detail"] for row in engine.store.query("EXPLAIN QUERY PLAN " + sql, params))
    with engine.store.transaction():
        engine.store.execute("SET LOCAL enable_seqscan = off")
        return " ".join(row["QUERY PLAN"] for row in engine.store.query("EXPLAIN " + sql, params))


def test_a_scopes_now_is_its_own_or_the_shared_newest_day_read_from_an_index(backend_engine: Engine) -> None:
    backend_engine.ingest([_bell(id="old", published="2024-01-02")])
    backend_engine.ingest([_bell(FAKE, id="mine", published="2024-03-04T10:00:00+00:00")], scope="7")
    backend_engine.ingest([_bell(FAKE, id="theirs", published="2024-09-09", source="Herald")], scope="8")
    assert newest_day(backend_engine.store, None) == date(2024, 1, 2)
    assert newest_day(backend_engine.store, Filters(scope="7")) == date(2024, 3, 4)  # never server 8's
    assert newest_day(backend_engine.store, Filters(scope="9")) == date(2024, 1, 2)
    newest = f"SELECT max({published_day()}) FROM articles a WHERE a.scope = ?"
    assert "idx_articles_scope_day" in _plan(backend_engine, newest, ["7"])  # a range's end, not a scan


def test_questions_see_shared_news_and_their_own_scope_only(backend_engine: Engine) -> None:
    backend_engine.ingest([_bell(id="bell", source="Gazette")])
    backend_engine.ingest([_bell(FAKE, id="fake", source="Courier")], scope="7")

    def quoted(scope: str | None) -> set[str]:
        result = backend_engine.ask("was the bell cast?", k=5, filters=Filters(scope=scope))
        return {a.article.id for a in result.answers}

    assert quoted(None) == {"bell"} and quoted("8") == {"bell"}
    assert quoted("7") == {"bell", "fake"}
    scoped = backend_engine.ask("plastic replica", filters=Filters(scope="7")).answers
    assert {a.article.scope for a in scoped} <= {None, "7"}
    assert {h.article.id for h in backend_engine.search("bell", filters=Filters(scope="8"))} == {"bell"}
    assert backend_engine.outlets() == ["Gazette"]
    assert set(backend_engine.outlets("7")) == {"Gazette", "Courier"}
    assert (backend_engine.stats()["articles"], backend_engine.stats("7")["articles"]) == (1, 2)
    assert backend_engine.stats("7")["scope"] == "7" and backend_engine.stats()["scope"] == "shared"


def test_each_scope_shows_when_the_news_it_sees_was_last_ingested(
    backend_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ["2024-01-01T00:00:00+00:00"]
    monkeypatch.setattr("index.reading.ingest.now_iso", lambda: clock[0])

    def last(*scopes: str | None) -> list[str | None]:
        return [backend_engine.stats(scope)["last_ingest"] for scope in scopes]

    backend_engine.ingest([_bell(id="mine")], scope="7")
    assert last(None, "7", "8") == [None, "2024-01-01T00:00:00+00:00", None]  # not server 7's, elsewhere
    clock[0] = "2024-02-01T00:00:00+00:00"
    backend_engine.ingest([_bell(FAKE, id="shared")])
    assert last(None, "7", "8") == ["2024-02-01T00:00:00+00:00"] * 3  # shared news: seen by every server
    clock[0] = "2024-03-01T00:00:00+00:00"
    backend_engine.ingest([_bell(FAKE, id="theirs")], scope="8")
    assert backend_engine.ingest([_bell(id="mine")], scope="7").skipped == 1  # nothing stored: no ingest
    assert last(None, "7", "8") == ["2024-02-01T00:00:00+00:00"] * 2 + ["2024-03-01T00:00:00+00:00"]


def test_the_last_ingest_a_data_dir_kept_for_every_scope_becomes_shared_news(backend_engine: Engine) -> None:
    backend_engine.store.set_setting("last_ingest", "2023-05-06T07:08:09+00:00")  # as versions before kept it
    assert (
        backend_engine.stats()["last_ingest"]
        == backend_engine.stats("7")["last_ingest"]
        == "2023-05-06T07:08:09+00:00"
    )


def test_forget_deletes_the_article_and_its_vectors_and_nothing_else(backend_engine: Engine) -> None:
    backend_engine.ingest([_bell(id="bell", source="Gazette"), _bell(FAKE, id="other", source="Gazette")])
    backend_engine.ingest([_bell(id="bell", source="Gazette")], scope="7")
    before = backend_engine.index.count
    mine = backend_engine.store.query(
        "SELECT count(*) AS n FROM passages p JOIN articles a ON a.pk = p.article_pk WHERE a.scope = '7'"
    )[0]["n"]
    with pytest.raises(EngineError, match="no article in server 8's own news has the id or URL 'bell'"):
        backend_engine.forget("bell", "8")
    assert backend_engine.forget("bell", "7") == "Bell rings again"
    assert _articles(backend_engine) == [("bell", None, "Gazette"), ("other", None, "Gazette")]
    assert backend_engine.index.count == before - mine == backend_engine.store.count("passages")
    # Keyword search holds the shared article's sentence only (FTS5's table, or PostgreSQL's tsvector).
    assert backend_engine.store.sentence_term_counts({"whitechapel": "Whitechapel"}) == {"whitechapel": 1}
    assert backend_engine.ask("who cast the bell?").answers  # shared news still answers


def test_forgetting_a_story_keeps_its_wire_copies(backend_engine: Engine) -> None:
    report = backend_engine.ingest([_bell(id="bell", source="Gazette"), _bell(id="copy", source="Courier")])
    assert report.copies == 1
    backend_engine.forget("bell")
    assert _articles(backend_engine) == [("copy", None, "Courier")]
    assert backend_engine.index.count == backend_engine.store.count("passages") > 0


def _wire_story(engine: Engine) -> None:
    """A story and two wire copies of it (the copies hold none of its sentences: nothing of their own)."""
    report = engine.ingest(
        [
            _bell(id="bell", source="Gazette"),
            _bell(id="copy", source="Courier"),
            _bell(id="more", source="Herald"),
        ]
    )
    assert report.copies == 2


def _state(engine: Engine) -> tuple[object, ...]:
    """The stored rows, what keyword search finds, the vectors and the generation."""
    rows = engine.store.query("SELECT id, source, copy_of, scope FROM articles ORDER BY pk")
    sizes = [engine.store.count(table) for table in ("sentences", "passages")]
    keywords = sorted(engine.store.keyword_stories(["bell", "whitechapel"], Filters(), 50))
    return rows, sizes, keywords, engine.index.count, engine.store.generation()


@pytest.mark.parametrize("failing", ["embedder.encode", "store.insert_passages"])
def test_a_forget_that_fails_part_way_leaves_the_story_and_its_copies_as_they_were(
    backend_engine: Engine, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A crash after the delete, while the copies are stored again, undoes the delete too: it was
    reported failed, so it must not have happened (the copies were lost for good, once)."""
    _wire_story(backend_engine)
    before = _state(backend_engine)
    part, method = failing.split(".")

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(getattr(backend_engine, part), method, crash)
    with pytest.raises(RuntimeError, match="died here"):
        backend_engine.forget("bell")
    monkeypatch.undo()
    assert _state(backend_engine) == before
    assert {a.article.id for a in backend_engine.ask("who cast the bell?").answers} == {"bell"}
    assert backend_engine.forget("bell") == "Bell rings again"  # and it can be forgotten after all


def test_a_forget_whose_copies_could_not_be_kept_is_refused_saying_which(
    backend_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies stored under a larger limit than today's must not vanish with their story."""
    _wire_story(backend_engine)
    before = _state(backend_engine)
    monkeypatch.setattr("index.reading.ingest.MAX_ARTICLE_CHARS", len(BELL) - 1)
    with pytest.raises(
        EngineError, match=r"bell was not forgotten: .*\(copy: .*; more: .*forget those copies"
    ):
        backend_engine.forget("bell")
    assert _state(backend_engine) == before


def test_after_a_forget_its_wire_copies_answer_in_its_place(
    backend_engine: Engine, backend_settings: Settings
) -> None:
    _wire_story(backend_engine)
    backend_engine.forget("bell")
    rows = backend_engine.store.query("SELECT pk, id, copy_of FROM articles ORDER BY pk")
    assert [(r["id"], r["copy_of"]) for r in rows] == [("copy", None), ("more", rows[0]["pk"])]
    assert backend_engine.index.count == backend_engine.store.count("passages") > 0
    [best, *_] = backend_engine.ask("who cast the bell?").answers
    assert (best.article.id, best.sentence) == (
        "copy",
        "The bell was cast in 1820 by the Whitechapel foundry.",
    )
    backend_engine.close()
    reopened = Engine(backend_settings)  # what was saved is what was committed: no rebuild, the same answer
    try:
        assert reopened.index.count == reopened.store.count("passages")
        assert reopened.ask("who cast the bell?").answers[0].article.id == "copy"
    finally:
        reopened.close()


# The data dirs of earlier versions: SQLite's schema upgrades (PostgreSQL's databases start at this
# version's migrations, tested in tests/index/storage).


def _downgrade_to_schema_2(db_path: Path) -> None:
    """The tables as newsbot made them before scopes (schema 2)."""
    db = sqlite3.connect(db_path)
    db.executescript(
        """
        DROP INDEX idx_articles_scope_id; DROP INDEX idx_articles_scope; DROP INDEX idx_articles_scope_day;
        ALTER TABLE articles DROP COLUMN scope;
        CREATE UNIQUE INDEX idx_articles_id ON articles(id);
        DROP TABLE feed_subscriptions; DROP TABLE feed_items;
        ALTER TABLE feeds ADD COLUMN name TEXT;
        UPDATE feeds SET name = 'Gazette feed';
        CREATE TABLE feed_items (feed_url TEXT REFERENCES feeds(url), guid TEXT, link TEXT, seen_at TEXT,
                                 PRIMARY KEY (feed_url, guid));
        INSERT INTO feed_items VALUES ('https://gazette.example/rss', 'g1', NULL, '2024-01-01T00:00');
        UPDATE settings SET value = '2' WHERE key = 'schema_version';
        PRAGMA user_version = 0;  -- before numbered migrations (index/storage/schema.py)
        """
    )
    db.commit()
    db.close()


def test_a_data_dir_of_the_previous_schema_is_upgraded_and_its_news_is_shared(
    hash_settings: Settings,
) -> None:
    engine = Engine(hash_settings)
    engine.ingest([_bell(id="bell", source="Gazette")])
    engine.feeds.add("https://gazette.example/rss")
    engine.close()
    _downgrade_to_schema_2(hash_settings.db_path)

    engine = Engine(hash_settings)
    try:
        assert engine.store.get_setting("schema_version") == "3"
        assert _articles(engine) == [("bell", None, "Gazette")]
        assert {a.article.id for a in engine.ask("who cast the bell?").answers} == {"bell"}
        assert engine.ingest([_bell(FAKE, id="bell", source="Gazette")], scope="7").new == 1  # ids per scope
        feeds = engine.feeds.list()
        assert [(f.url, f.name, f.scope) for f in feeds] == [
            ("https://gazette.example/rss", "Gazette feed", None)
        ]
        assert engine.feeds.seen("https://gazette.example/rss", ["g1", "g2"]) == {"g1"}
    finally:
        engine.close()


def _made_then_altered(settings: Settings, sql: str) -> None:
    """A data dir made by this version, then changed by ``sql`` as another version left it."""
    Engine(settings).close()
    db = sqlite3.connect(settings.db_path)
    db.executescript(sql + "; PRAGMA user_version = 0")  # other versions number no migrations
    db.commit()
    db.close()


def test_a_data_dir_of_this_schema_made_before_an_index_gets_it_on_open(hash_settings: Settings) -> None:
    _made_then_altered(
        hash_settings,
        "DROP INDEX idx_articles_scope_day; DROP INDEX idx_sentences_norm_article; "
        "CREATE INDEX idx_sentences_norm ON sentences(norm)",  # the copy check's index before
    )
    engine = Engine(hash_settings)
    try:
        names = {r["name"] for r in engine.store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"idx_articles_scope_day", "idx_sentences_norm_article"} <= names
        assert "idx_sentences_norm" not in names
    finally:
        engine.close()


def test_an_unknown_schema_is_refused_saying_what_to_do(hash_settings: Settings) -> None:
    _made_then_altered(hash_settings, "UPDATE settings SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(EngineError, match=r"schema 1; this one reads 3 and upgrades 2 in place\): run that"):
        Engine(hash_settings)
