"""The engine on the bundled sample with the real model: the quotes a user sees."""

import pytest

from index.engine import Engine, QuestionError
from index.store import Filters


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
    assert set(data) == {"question", "answered", "answers", "confidence"}
    assert len(data["answers"]) == 3
    assert set(data["answers"][0]["article"]) == {"id", "title", "source", "url", "published"}
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


def test_filters_exclude_articles_before_ranking(sample_engine):
    assert sample_engine.ask("who warned ships?", filters=Filters(outlet="Nowhere Gazette")).answers == []


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_faiss_index_is_rebuilt_from_sqlite(sample_engine, real_settings, model, damage):
    path = real_settings.faiss_path
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    sample_engine.close()
    reopened = Engine(real_settings, embedder=model)
    assert reopened.index.count == reopened.store.count("passages") > 0
    assert reopened.ask("who warned ships?").answers[0].sentence.startswith("They instructed")
    reopened.close()


def test_reingesting_the_sample_changes_nothing(sample_engine, sample_dir):
    report = sample_engine.ingest_paths([sample_dir])
    assert (report.new, report.updated, report.skipped) == (0, 0, 1)
    assert sample_engine.store.count("articles") == 1


def test_stats(sample_engine):
    stats = sample_engine.stats()
    assert stats["articles"] == 1 and stats["sentences"] > 10
    assert stats["index"]["vectors"] == stats["passages"]


def test_a_lead_in_already_quoted_is_not_offered_again_as_the_next_answer(sample_engine):
    answers = sample_engine.ask("who warned ships?").answers
    lead_in = "The launch was also detected by Japan's Prime Minister's Office and Defense Ministry."
    assert answers[0].quote.startswith(lead_in)
    assert all(a.sentence != lead_in for a in answers[1:])


def test_weights_naming_an_unknown_feature_are_refused(hash_settings):
    from index.engine import EngineError

    settings = hash_settings.model_copy(update={"weights": {"sent": 1.0, "overlap": 0.5}})
    with pytest.raises(EngineError, match="unknown features: overlap; the features are sent, topic"):
        Engine(settings)
