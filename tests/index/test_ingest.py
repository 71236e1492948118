import pytest

from index.ingest import content_hash, passage_windows
from index.models import ArticleIn, InputProblem


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


def test_a_model_change_is_refused_until_reindex(hash_settings):
    from index.embed import HashEmbedder
    from index.engine import Engine, EngineError

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
    from index.models import Outlet
    from index.store import Filters

    hash_engine.ingest([_wire("coastpost")])
    edited = WIRE.replace("Museum staff said the find was remarkable.", "Staff called it remarkable.")
    report = hash_engine.ingest([_wire("harbourtimes"), _wire("bayherald", edited)])
    assert (report.new, report.copies) == (0, 2)
    assert hash_engine.store.count("articles") == 3
    assert hash_engine.store.count("sentences") == 5  # the copies add no sentences
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
    from index.engine import Engine, EngineError

    Engine(hash_settings).store.set_setting("schema_version", "1")
    with pytest.raises(EngineError, match="ingest the articles again"):
        Engine(hash_settings)


def test_questions_are_answered_while_an_ingest_is_embedding(hash_settings):
    import threading

    from index.embed import HashEmbedder
    from index.engine import Engine

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
