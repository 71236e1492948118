import json
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import LINES

from index.core.models import ArticleIn, InputProblem
from index.core.settings import Settings
from index.engine import Engine
from index.reading.ingest import CHUNK_ARTICLES, content_hash, passage_windows, stored_passage_vectors


def _article(text: str, **kw) -> ArticleIn:
    return ArticleIn(title=kw.pop("title", "Harbour news"), text=text, **kw)


TEXT = (
    "The harbour master closed the north quay on Monday. Storm waves had damaged the sea wall. "
    "Repairs will cost about £2.4m, the council said. Fishing boats were moved to the south basin."
)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, []), (1, [(0, 0)]), (3, [(0, 2)]), (5, [(0, 2), (2, 4)]), (6, [(0, 2), (2, 4), (3, 5)])],
)
def test_passage_windows_cover_every_sentence(n, expected):
    assert passage_windows(n, 3, 2) == expected


def test_content_hash_ignores_rewrapping():
    assert content_hash("a  b\nc") == content_hash("a b c")


def test_same_article_again_is_skipped(hash_engine):
    first = hash_engine.ingest([_article(TEXT, id="h1")])
    again = hash_engine.ingest([_article(TEXT, id="h1"), _article(TEXT)])  # same id; same text, no id
    assert (first.new, again.new, again.skipped) == (1, 0, 2)
    assert hash_engine.store.count("articles") == 1
    assert hash_engine.index.count == hash_engine.store.count("passages")


def test_same_url_is_the_same_article(hash_engine):
    hash_engine.ingest([_article(TEXT, url="https://example.org/a")])
    report = hash_engine.ingest([_article(TEXT + " More boats arrived.", url="https://example.org/a")])
    assert (report.new, report.updated) == (0, 1)
    assert hash_engine.store.count("articles") == 1


def test_changed_text_replaces_the_old_version_and_its_vectors(hash_engine):
    hash_engine.ingest([_article(TEXT, id="h1")])
    report = hash_engine.ingest([_article("The quay reopened on Friday. Boats returned.", id="h1")])
    assert report.updated == 1
    rows = hash_engine.store.query("SELECT text FROM sentences ORDER BY idx")
    assert [r["text"] for r in rows] == ["The quay reopened on Friday.", "Boats returned."]
    assert hash_engine.index.count == hash_engine.store.count("passages") == 1
    assert hash_engine.store.query("SELECT id FROM articles") == [{"id": "h1"}]


def test_each_passage_is_in_the_index_under_its_own_pk(hash_engine):
    """Passages go in a chunk at a time with pks given by ingest: FAISS must hold each under its pk,
    a replaced article's new passages included, and SQLite no passage that FAISS lacks."""
    hash_engine.ingest(
        [_article(TEXT, id="h1"), _article("The quay shut. Boats left. Gulls stayed.", id="h2")]
    )
    hash_engine.ingest(
        [
            _article("The quay reopened on Friday. Boats returned.", id="h1"),
            _article(TEXT + " Nets dried.", id="h3"),
        ]
    )
    store, index = hash_engine.store, hash_engine.index
    ids, vecs = stored_passage_vectors(
        store, hash_engine.embedder.dim, hash_engine.settings.passage_title_weight
    )
    assert sorted(ids.tolist()) == [r["pk"] for r in store.query("SELECT pk FROM passages ORDER BY pk")]
    assert len(set(ids.tolist())) == len(ids) == index.count
    assert [index.search(vec, 1)[0][0] for vec in vecs] == ids.tolist()


def test_sentence_offsets_point_into_the_article_text(hash_engine):
    hash_engine.ingest([_article(TEXT, id="h1")])
    text = hash_engine.store.query("SELECT text FROM articles")[0]["text"]
    for row in hash_engine.store.query("SELECT start, end, text FROM sentences"):
        assert text[row["start"] : row["end"]] == row["text"]


def test_problems_are_reported_and_the_rest_goes_in(hash_engine):
    report = hash_engine.ingest(
        [InputProblem("bad.jsonl:3", "not JSON"), _article("   ", id="empty"), _article(TEXT, id="ok")]
    )
    assert report.new == 1
    assert [p.origin for p in report.problems] == ["bad.jsonl:3", "empty"]


def test_a_failed_batch_writes_nothing(hash_engine, monkeypatch):
    hash_engine.ingest([_article(TEXT, id="keep")])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hash_engine.store, "insert_sentences", broken)
    with pytest.raises(RuntimeError):
        hash_engine.ingest([_article("A second story. It has two sentences.", id="new")])
    assert [r["id"] for r in hash_engine.store.query("SELECT id FROM articles")] == ["keep"]
    assert hash_engine.store.count("passages") == hash_engine.index.count


def test_a_long_ingest_saves_the_index_files_now_and_then_and_at_its_end(hash_engine, monkeypatch):
    """Each chunk is searchable at once; the files follow at most every SAVE_SECONDS, and a chunk that
    fails still leaves the committed ones saved, so a restart finds the files current."""
    import json

    import index.reading.ingest as ingest

    monkeypatch.setattr(ingest, "CHUNK_ARTICLES", 2)
    monkeypatch.setattr(ingest, "SAVE_SECONDS", 3600.0)
    saves = []
    save = hash_engine.index.save
    monkeypatch.setattr(
        hash_engine.index, "save", lambda generation=None: saves.append(generation) or save(generation)
    )
    articles = [
        _article(f"Story number {n} is here. It has a second sentence.", id=f"s{n}") for n in range(6)
    ]
    calls = 0
    insert = hash_engine.store.insert_sentences

    def fail_third_chunk(rows):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk full")
        insert(rows)

    monkeypatch.setattr(hash_engine.store, "insert_sentences", fail_third_chunk)
    with pytest.raises(RuntimeError):
        hash_engine.ingest(articles)
    assert hash_engine.store.count("articles") == 4  # two chunks landed
    assert hash_engine.index.count == hash_engine.store.count("passages")
    assert saves == [hash_engine.store.generation()]  # once, after the failure, at the last commit
    manifest = json.loads(hash_engine.index.manifest_path.read_text())
    assert manifest["generation"] == hash_engine.store.generation()


def test_a_model_change_is_refused_until_reindex(hash_settings):
    from index.core.errors import EngineError
    from index.engine import Engine
    from index.storage.embed import HashEmbedder

    engine = Engine(hash_settings)
    engine.ingest([_article(TEXT, id="h1")])
    engine.close()
    other = HashEmbedder(dim=64)
    other.name = "hash-64"
    switched = Engine(hash_settings.model_copy(update={"model": "hash-64"}), embedder=other)
    with pytest.raises(EngineError, match="newsbot reindex"):
        switched.ask("harbour")
    assert switched.reindex() == 4
    assert switched.index.count == switched.store.count("passages")
    assert switched.ask("sea wall damaged").answers[0].sentence == "Storm waves had damaged the sea wall."


WIRE = (
    "Divers recovered a bronze bell from the wreck off Port Ellis on Tuesday. "
    "The bell was cast in 1871, according to the maritime museum. "
    "It will be cleaned before going on display in spring. "
    "The wreck was found by a fishing crew last year. "
    "Museum staff said the find was remarkable."
)


def _wire(source: str, text: str = WIRE, **kw) -> ArticleIn:
    return ArticleIn(
        title="Bell raised from wreck", text=text, source=source, url=f"https://{source}.example/bell", **kw
    )


def test_a_wire_copy_from_another_outlet_is_stored_once_with_both_outlets(hash_engine):
    from index.core.models import Outlet
    from index.storage.store import Filters

    hash_engine.ingest([_wire("coastpost")])
    edited = WIRE.replace("Museum staff said the find was remarkable.", "Staff called it remarkable.")
    report = hash_engine.ingest([_wire("harbourtimes"), _wire("bayherald", edited)])
    assert (report.new, report.copies) == (0, 2)
    assert hash_engine.store.count("articles") == 3
    assert hash_engine.store.count("sentences") == 6  # the copies add only the one sentence of their own
    answers = hash_engine.ask("when was the bell cast", k=5).answers
    assert answers[0].also_reported_by == [
        Outlet("harbourtimes", "https://harbourtimes.example/bell"),
        Outlet("bayherald", "https://bayherald.example/bell"),
    ]
    assert len({a.sentence for a in answers}) == len(answers)
    by_copy_outlet = hash_engine.ask("when was the bell cast", filters=Filters(outlet="BayHerald"))
    assert by_copy_outlet.answers[0].article.source == "coastpost"


def test_copies_arriving_in_one_batch_are_recognised(hash_engine):
    report = hash_engine.ingest([_wire("coastpost"), _wire("harbourtimes")])
    assert (report.new, report.copies) == (1, 1)


def test_same_outlet_same_text_is_a_repeat_and_other_text_is_a_new_story(hash_engine):
    hash_engine.ingest([_wire("coastpost")])
    report = hash_engine.ingest([_wire("coastpost", id="again"), _wire("harbourtimes", TEXT)])
    assert (report.skipped, report.new, report.copies) == (1, 1, 0)


def test_a_data_dir_from_another_schema_version_is_refused_with_advice(hash_settings):
    from index.core.errors import EngineError
    from index.engine import Engine

    Engine(hash_settings).store.set_setting("schema_version", "1")
    with pytest.raises(EngineError, match="ingest the articles again"):
        Engine(hash_settings)


def test_questions_are_answered_while_an_ingest_is_embedding(hash_settings):
    import threading

    from index.engine import Engine
    from index.storage.embed import HashEmbedder

    class SlowEmbedder(HashEmbedder):
        """Holds every batch with the second story's text until released: an ingest in mid-embedding."""

        def __init__(self) -> None:
            super().__init__()
            self.embedding = threading.Event()
            self.release = threading.Event()

        def encode(self, texts):
            if "A new story." in texts:
                self.embedding.set()
                assert self.release.wait(10)
            return super().encode(texts)

    embedder = SlowEmbedder()
    engine = Engine(hash_settings, embedder=embedder)
    engine.ingest([_article(TEXT, id="h1")])
    worker = threading.Thread(target=engine.ingest, args=([_article("A new story. It has news.", id="h2")],))
    worker.start()
    assert embedder.embedding.wait(10)
    assert engine.ask("sea wall").answers  # not blocked by the ingest in progress
    embedder.release.set()
    worker.join(10)
    assert engine.store.count("articles") == 2


def _sources_of(engine, sentence: str) -> list[str]:
    return [
        r["source"]
        for r in engine.store.query(
            "SELECT a.source FROM sentences s JOIN articles a ON a.pk = s.article_pk WHERE s.text = ?",
            [sentence],
        )
    ]


def test_a_copys_own_sentences_are_indexed_and_quoted_as_its_own(hash_engine):
    hash_engine.ingest([_wire("coastpost")])
    own = "The harbourmaster rang the bell at noon for the crowd."
    report = hash_engine.ingest(
        [_wire("bayherald", WIRE.replace("Museum staff said the find was remarkable.", own))]
    )
    assert report.copies == 1 and report.sentences == 1
    assert _sources_of(hash_engine, own) == ["bayherald"]
    assert hash_engine.index.count == hash_engine.store.count("passages")
    [hit] = [h for h in hash_engine.search("harbourmaster rang the bell at noon", k=5) if h.sentence == own]
    assert (hit.article.source, hit.passage) == ("bayherald", own)


def test_copies_are_judged_again_when_their_story_changes(hash_engine):
    hash_engine.ingest([_wire("coastpost", id="bell"), _wire("harbourtimes")])
    other = "The lifeboat crew trained on the river all week. Volunteers served soup to the crew afterwards."
    report = hash_engine.ingest([_wire("coastpost", other, id="bell")])  # the story is now another one
    assert report.updated == 1
    answer = hash_engine.ask("when was the bell cast").answers[0]
    assert answer.sentence == "The bell was cast in 1871, according to the maritime museum."
    assert answer.article.source == "harbourtimes" and answer.also_reported_by == []
    for answer in hash_engine.ask("lifeboat crew trained on the river", k=5).answers:
        assert all(o.source != "harbourtimes" for o in answer.also_reported_by)  # it never printed that
    assert hash_engine.index.count == hash_engine.store.count("passages")


def test_a_copy_still_repeating_its_changed_story_keeps_only_its_own_sentences(hash_engine):
    hash_engine.ingest([_wire("coastpost", id="bell"), _wire("harbourtimes")])
    fixed = WIRE.replace("Museum staff said the find was remarkable.", "Museum staff were delighted.")
    hash_engine.ingest([_wire("coastpost", fixed, id="bell")])
    assert _sources_of(hash_engine, "Museum staff said the find was remarkable.") == ["harbourtimes"]
    assert _sources_of(hash_engine, "Museum staff were delighted.") == ["coastpost"]
    assert hash_engine.store.count("sentences") == 6


def test_the_near_copy_search_looks_past_a_best_match_that_does_not_qualify(hash_engine):
    longer = WIRE + " " + " ".join(f"Paragraph {n} of the long feature adds more history." for n in range(10))
    four = WIRE.replace("Museum staff said the find was remarkable.", "It weighs forty kilos.")
    hash_engine.ingest([_wire("longpost", longer), _wire("coastpost", four)])
    report = hash_engine.ingest([_wire("bayherald")])  # shares most with longpost, but is coastpost's story
    assert report.copies == 1
    row = hash_engine.store.query("SELECT copy_of FROM articles WHERE source = 'bayherald'")[0]
    assert (
        row["copy_of"]
        == hash_engine.store.query("SELECT pk FROM articles WHERE source = 'coastpost'")[0]["pk"]
    )


def test_an_edited_article_without_id_or_url_replaces_its_earlier_version(hash_engine):
    story = TEXT + " The quay reopens on Friday."
    hash_engine.ingest([_article(story, source="Harbour Times")])
    [first] = hash_engine.store.query("SELECT id FROM articles")
    edited = story.replace("about £2.4m", "about £2.6m")  # one sentence of five changed
    report = hash_engine.ingest([_article(edited, source="Harbour Times")])
    assert (report.new, report.updated) == (0, 1)
    assert hash_engine.store.query("SELECT id, text FROM articles") == [{"id": first["id"], "text": edited}]
    other_outlet = hash_engine.ingest([_article(edited, source="Bay Herald")])
    assert other_outlet.copies == 1  # the same text from another outlet is still a copy, not an edit


def test_an_edited_copy_without_id_or_url_replaces_the_copy_it_sent_before(hash_engine):
    hash_engine.ingest([_wire("coastpost")])
    copy = ArticleIn(title="Bell raised", text=WIRE, source="bayherald")
    hash_engine.ingest([copy])
    edited = WIRE.replace("Museum staff said the find was remarkable.", "Staff called it remarkable.")
    report = hash_engine.ingest([ArticleIn(title="Bell raised", text=edited, source="bayherald")])
    assert report.copies == 1 and hash_engine.store.count("articles") == 2
    assert _sources_of(hash_engine, "Staff called it remarkable.") == ["bayherald"]


def test_an_edited_file_replaces_its_earlier_version(hash_engine, tmp_path):
    story = tmp_path / "quay.txt"
    story.write_text("Harbour news\n" + TEXT, encoding="utf-8")
    hash_engine.ingest_paths([story])
    story.write_text("Harbour news\nThe quay reopened on Friday. Boats returned.", encoding="utf-8")
    report = hash_engine.ingest_paths([story])
    assert (report.new, report.updated, report.problems) == (0, 1, [])
    assert hash_engine.store.count("articles") == 1


def test_an_overlong_article_is_a_problem_and_a_long_title_is_shortened(hash_engine):
    report = hash_engine.ingest(
        [
            _article("Word after word. " * 40_000, id="book", origin="book.txt"),
            _article(TEXT, id="ok", title="Harbour " * 100),
        ]
    )
    assert report.new == 1
    assert report.problems == [
        InputProblem(
            "book.txt",
            "the article is 680,000 characters long, over the 500,000 one article may have; "
            "split it into several",
        )
    ]
    assert len(hash_engine.store.query("SELECT title FROM articles")[0]["title"]) <= 300


# -- bad input never costs good input -------------------------------------------------------------

_GOOD = [
    _article(f"Story {n} begins here. It has a second sentence about boat {n}.", id=f"good-{n}")
    for n in range(3)
]


def _snapshot(engine: Engine) -> dict[str, tuple]:
    """Every stored article by id: its row and its sentences, vectors included."""
    rows = engine.store.query(
        "SELECT pk, id, title, text, url, source, published, content_hash, copy_of FROM articles"
    )
    return {
        row["id"]: (
            row,
            engine.store.query(
                "SELECT idx, start, end, text, vec FROM sentences WHERE article_pk = ?", [row["pk"]]
            ),
        )
        for row in rows
    }


@given(junk=st.lists(LINES, max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_junk_between_good_articles_changes_nothing_stored_and_loses_nothing(junk):
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine(Settings(data_dir=Path(folder, "data"), model="hash", rerank=False, _env_file=None))
        try:
            engine.ingest(_GOOD[:2])
            before = _snapshot(engine)
            path = Path(folder, "mixed.jsonl")
            good = json.dumps({"id": "good-2", "title": "Late", "text": _GOOD[2].text})
            path.write_bytes("\n".join([*junk, good]).encode("utf-8", "surrogatepass"))
            report = engine.ingest_paths([path])
            after = _snapshot(engine)
            assert {k: after[k] for k in before} == before
            assert "good-2" in after and report.stored >= 1
            assert engine.index.count == engine.store.count("passages")
        finally:
            engine.close()


def test_two_versions_of_one_article_in_one_batch_are_stored_in_turn(hash_engine):
    url = "https://example.org/quay"
    hash_engine.ingest([_article(TEXT, id="z", url=url)])
    first, second = (
        "The quay reopened on Friday. Boats returned.",
        "The quay reopened on Saturday. Boats returned.",
    )
    report = hash_engine.ingest([_article(first, id="x", url=url), _article(second, id="y", url=url)])
    assert report.updated == 2  # each counted: the second replaces what the first stored
    assert hash_engine.store.query("SELECT id, text FROM articles") == [{"id": "y", "text": second}]
    assert hash_engine.index.count == hash_engine.store.count("passages")
    again = hash_engine.ingest([_article(TEXT, id="w"), _article(TEXT + " Then it rained.", id="w")])
    assert (again.new, again.updated) == (1, 1)


def _filler(i: int, source: str = "Coast News", id: str | None = None) -> ArticleIn:
    text = f"Town {i} opened road {i} today. Mayor {i} cut a ribbon {i} times."
    return _article(text, id=id or f"t{i}", source=source)


def _hold_up_writes(engine, monkeypatch, seconds: float) -> None:
    """Each chunk's write still runs while the next chunk's articles arrive."""
    slow = engine.store.insert_articles

    def held_up(rows):
        time.sleep(seconds)
        slow(rows)

    monkeypatch.setattr(engine.store, "insert_articles", held_up)


def test_articles_depending_on_the_chunk_in_flight_wait_for_its_commit(hash_engine, monkeypatch):
    """Past `CHUNK_ARTICLES` a chunk is written in the background while the next is resolved. With the
    first chunk's write held up, a second-chunk article with a first-chunk id is still an update, and
    another outlet's repeat of a first-chunk story still a wire copy, as in one chunk."""
    _hold_up_writes(hash_engine, monkeypatch, 1.0)
    articles = [_filler(i) for i in range(CHUNK_ARTICLES + 20)]
    articles[CHUNK_ARTICLES + 5] = _article("Town 3 closed road 3 again. Repairs start soon.", id="t3")
    articles[CHUNK_ARTICLES + 10] = _filler(7, source="Daily Post", id="post-7")
    report = hash_engine.ingest(articles)
    assert (report.new, report.updated, report.copies) == (CHUNK_ARTICLES + 18, 1, 1)
    rows = {r["id"]: r for r in hash_engine.store.query("SELECT id, text, copy_of, pk FROM articles")}
    assert rows["t3"]["text"].startswith("Town 3 closed") and rows["post-7"]["copy_of"] == rows["t7"]["pk"]
    assert hash_engine.index.count == hash_engine.store.count("passages")


def test_a_look_up_made_before_a_chunk_was_stored_is_made_again(hash_engine, monkeypatch):
    """The store is asked about `LOOKAHEAD` articles at once. Once a chunk has been stored (and is no
    longer in flight, where the in-memory checks would see it), what was looked up before it is stale:
    a later article with a stored article's id is an update, a repeat from another outlet a copy."""
    monkeypatch.setattr("index.reading.ingest.CHUNK_ARTICLES", 2)
    monkeypatch.setattr("index.reading.ingest.LOOKAHEAD", 8)
    _hold_up_writes(hash_engine, monkeypatch, 0.3)
    # t0, t1 are written while t2, t3 are read; storing t2, t3 waits for them; t4 onwards come after
    articles = [_filler(i) for i in range(5)]
    articles += [_article("Town 0 closed road 0 again. Repairs start soon.", id="t0")]
    articles += [_filler(1, source="Daily Post", id="post-1")]
    report = hash_engine.ingest(articles)
    assert (report.new, report.updated, report.copies) == (5, 1, 1)
    rows = {r["id"]: r for r in hash_engine.store.query("SELECT id, text, copy_of, pk FROM articles")}
    assert rows["t0"]["text"].startswith("Town 0 closed") and rows["post-1"]["copy_of"] == rows["t1"]["pk"]
    assert hash_engine.index.count == hash_engine.store.count("passages")
