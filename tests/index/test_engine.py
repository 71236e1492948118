"""The engine on the bundled sample with the real model: the quotes a user sees. What storage must do
alike (filters, re-ingest, closing under an ingest) runs on SQLite and PostgreSQL with the hash model."""

import pytest

from index.core.errors import QuestionError
from index.engine import Engine
from index.storage.store import Filters


def test_who_warned_ships_quotes_the_coast_guard_with_the_ministry_it_leans_on(sample_engine):
    result = sample_engine.ask("who warned ships?")
    assert result.answered
    best = result.answers[0]
    assert best.sentence.startswith("They instructed the Japanese coast guard to warn ships")
    assert best.quote == (
        "The launch was also detected by Japan's Prime Minister's Office and Defense Ministry. "
        "They instructed the Japanese coast guard to warn ships within the country on falling debris."
    )
    assert best.quote in sample_engine.store.query("SELECT text FROM articles")[0]["text"]


def test_every_quote_is_verbatim_from_its_article(sample_engine):
    text = sample_engine.store.query("SELECT text FROM articles")[0]["text"]
    for question in [
        "what did Blinken say?",
        "when did the Hanoi summit collapse?",
        "who is Leif-Eric Easley?",
    ]:
        for answer in sample_engine.ask(question).answers:
            assert answer.quote in text and answer.sentence in answer.quote


def test_cleaned_boilerplate_is_never_quoted(sample_engine):
    sentences = [r["text"] for r in sample_engine.store.query("SELECT text FROM sentences")]
    assert not any(s.startswith(("Read Also", "Related Article", "(Photo", "SKOREA")) for s in sentences)


def test_k_and_the_answer_shape(sample_engine):
    result = sample_engine.ask("Who sanctioned North Koreans?", k=3)
    data = result.to_dict()
    assert set(data) == {"question", "answered", "answers", "confidence", "differing"}
    assert len(data["answers"]) == 3
    article = data["answers"][0]["article"]
    added = {"scope", "uploaded", "claimed_source"}  # by scopes, beside the original keys
    assert set(article) == {"id", "title", "source", "url", "published", *added}
    assert (article["scope"], article["uploaded"], article["claimed_source"]) == ("shared", False, None)
    scores = [a["score"] for a in data["answers"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 1001])
def test_bad_questions_get_a_clear_error(sample_engine, question):
    with pytest.raises(QuestionError):
        sample_engine.ask(question)


def test_search_returns_the_article_with_a_passage(sample_engine):
    hits = sample_engine.search("coast guard debris")
    assert len(hits) == 1
    assert "coast guard" in hits[0].passage


def test_filters_exclude_articles_before_ranking(backend_engine, sample_dir):
    backend_engine.ingest_paths([sample_dir])
    assert backend_engine.ask("who warned ships?").answers
    assert backend_engine.ask("who warned ships?", filters=Filters(outlet="Nowhere Gazette")).answers == []


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_faiss_index_is_rebuilt_from_sqlite(sample_engine, real_settings, model, reranker, damage):
    before = sample_engine.ask("who warned ships?").answers
    path = real_settings.faiss_path
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    sample_engine.close()
    reopened = Engine(real_settings, embedder=model, reranker=reranker)
    assert reopened.index.count == reopened.store.count("passages") > 0
    assert reopened.ask("who warned ships?").answers == before  # the rebuilt index answers the same
    reopened.close()


def test_reingesting_the_sample_changes_nothing(backend_engine, sample_dir):
    assert backend_engine.ingest_paths([sample_dir]).new == 1
    stored = (backend_engine.store.count("passages"), backend_engine.store.generation())
    report = backend_engine.ingest_paths([sample_dir])
    assert (report.new, report.updated, report.skipped) == (0, 0, 1)
    assert backend_engine.store.count("articles") == 1
    assert (backend_engine.store.count("passages"), backend_engine.store.generation()) == stored
    assert backend_engine.index.count == stored[0]


# FAISS's own account of its files (pgvector's stats: tests/index/test_engine_postgres.py).
def test_stats_counts_the_vectors_faiss_holds_not_the_passages_sqlite_holds(hash_engine, sample_dir):
    hash_engine.ingest_paths([sample_dir])
    stats = hash_engine.stats()
    assert stats["articles"] == 1 and stats["sentences"] > 10
    assert stats["index"]["vectors"] == stats["passages"] > 1
    faiss = stats["index"]["faiss"]  # the index's own account, as `PassageIndex.info` gives it
    assert faiss == hash_engine.index.info and faiss["index"] == "flat"
    assert faiss["base"] + faiss["delta"] - faiss["removed"] == stats["passages"]
    hash_engine.index.remove([hash_engine.store.query("SELECT min(pk) AS pk FROM passages")[0]["pk"]])
    assert hash_engine.stats()["index"]["vectors"] == stats["passages"] - 1  # a divergence shows


def test_stats_of_an_empty_data_dir_load_no_model(hash_settings):
    class NoModel:
        name = "hash"

        @property
        def dim(self) -> int:
            raise AssertionError("stats loaded the model")

    engine = Engine(hash_settings, embedder=NoModel())
    assert (engine.stats()["passages"], engine.stats()["index"]["vectors"]) == (0, 0)
    assert engine.stats()["index"]["faiss"] is None
    engine.close()


def test_a_lead_in_already_quoted_is_not_offered_again_as_the_next_answer(sample_engine):
    lead_ins: set[str] = set()
    for question in ["who warned ships?", "what did Blinken say?", "who sanctioned North Koreans?"]:
        quoted: set[str] = set()  # lead-ins of the better answers
        for answer in sample_engine.ask(question).answers:
            assert answer.sentence not in quoted
            if answer.quote != answer.sentence:
                quoted.add(answer.quote.removesuffix(answer.sentence).strip())
        lead_ins |= quoted
    assert lead_ins  # the check was not empty


def test_weights_naming_an_unknown_feature_are_refused(hash_settings):
    from index.core.errors import EngineError

    settings = hash_settings.model_copy(update={"weights": {"sent": 1.0, "overlap": 0.5}})
    with pytest.raises(EngineError, match="unknown features: overlap; the features are sent, topic"):
        Engine(settings)


def test_a_data_dir_that_is_a_file_is_a_clear_error(hash_settings, tmp_path):
    from index.core.errors import EngineError

    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(EngineError, match=r"notes.txt is a file, not a folder: point --data-dir"):
        Engine(hash_settings.model_copy(update={"data_dir": tmp_path / "notes.txt"}))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "newsbot.db").write_bytes(b"not sqlite at all, " * 100)
    with pytest.raises(EngineError, match="is not a newsbot database"):
        Engine(hash_settings.model_copy(update={"data_dir": tmp_path / "other"}))


def test_close_waits_for_an_ingest_in_progress_then_refuses_more(backend_settings):
    """A feed poll ingests on a thread of its own: shutting down must not close the store under it."""
    import threading

    from index.core.errors import EngineError
    from index.core.models import ArticleIn
    from index.storage.embed import HashEmbedder

    class GatedEmbedder(HashEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.embedding, self.release = threading.Event(), threading.Event()

        def encode(self, texts):
            self.embedding.set()
            assert self.release.wait(10)
            return super().encode(texts)

    engine = Engine(backend_settings, embedder=GatedEmbedder())
    story = ArticleIn(title="Quay", text="The quay closed on Monday. Boats moved.", id="q")
    reports = []
    ingest = threading.Thread(target=lambda: reports.append(engine.ingest([story])))
    ingest.start()
    assert engine.embedder.embedding.wait(10)
    closing = threading.Thread(target=engine.close)
    closing.start()
    closing.join(0.3)
    assert closing.is_alive()  # waiting for the ingest, not closing the store under it
    engine.embedder.release.set()
    ingest.join(10)
    closing.join(10)
    assert reports[0].new == 1 and not closing.is_alive()
    with pytest.raises(EngineError, match="shutting down"):
        engine.ingest([story])
    reopened = Engine(backend_settings)
    assert reopened.store.count("articles") == 1
    reopened.close()
