"""Term statistics: frequencies by seek, presence over the candidates only, common terms left out."""

import numpy as np
import pytest

from index.core.models import ArticleIn
from index.search.termstats import TermStats


def test_frequencies_presence_and_search_terms(hash_engine):
    texts = [f"The council said the ferry ran on day {i}." for i in range(40)] + ["Ferries were cancelled."]
    hash_engine.ingest([ArticleIn(f"Day {i}", t) for i, t in enumerate(texts)])
    stats = TermStats(hash_engine.store, hash_engine.settings)
    assert stats.stems(["ferries", "running", "qantas"]) == ["ferri", "run", "qanta"]  # FTS5's porter stems
    said, ferries, cancelled, absent = stats.frequencies(["said", "ferries", "cancelled", "zebra"])
    assert (said, cancelled, absent) == (40, 1, 0) and ferries == 41  # "ferry" and "ferries" share a stem
    hold = stats.presence(["ferries", "cancelled"], ["A ferry left.", "Trains were cancelled.", "Nothing."])
    assert hold.tolist() == [[True, False], [False, True], [False, False]]
    assert stats.searchable(["said", "cancelled"]) == ["cancelled"]  # "said" is in 40 of 41 sentences
    assert stats.searchable(["said"]) == ["said"]  # never nothing left to search
    idf = stats.idf(["said", "cancelled"])
    assert idf[1] > idf[0] > 0 and np.isfinite(idf).all()


def test_stems_are_remembered_and_kept_in_the_callers_order(hash_engine, monkeypatch):
    stats = TermStats(hash_engine.store, hash_engine.settings)
    assert stats.stems(["running", "ferries"]) == ["run", "ferri"]
    monkeypatch.setattr(TermStats, "_scratch", property(lambda self: pytest.fail("tokenized again")))
    assert stats.stems(["ferries", "running", "ferries"]) == ["ferri", "run", "ferri"]
    with pytest.raises(pytest.fail.Exception):
        stats.stems(["qantas"])  # a new word does go to the tokenizer


def test_the_or_search_keeps_the_rarest_terms_within_the_postings_budget(hash_engine):
    texts = [f"The council said the ferry ran on day {i}." for i in range(40)] + ["Ferries were cancelled."]
    hash_engine.ingest([ArticleIn(f"Day {i}", t) for i, t in enumerate(texts)])
    budget = hash_engine.settings.model_copy(update={"common_share": 1.0, "postings_budget": 45})
    stats = TermStats(hash_engine.store, budget)
    # cancelled (1) + council (40) fit in 45 postings; ferry (41 more) would not; question order kept
    assert stats.searchable(["ferry", "council", "cancelled"]) == ["council", "cancelled"]
    stats = TermStats(hash_engine.store, budget.model_copy(update={"postings_budget": 0}))
    assert stats.searchable(["ferry", "council"]) == ["council"]  # the rarest is always searched


def test_counts_are_remembered_until_the_store_changes(hash_engine, monkeypatch):
    hash_engine.ingest([ArticleIn("Ferry", "The ferry sailed."), ArticleIn("Bus", "The bus ran late.")])
    stats = TermStats(hash_engine.store, hash_engine.settings)
    assert stats.frequencies(["ferry", "bus"]).tolist() == [1, 1]
    query = stats.store.query
    monkeypatch.setattr(
        stats.store, "query", lambda sql, *a: pytest.fail(sql) if "vocab" in sql else query(sql, *a)
    )
    assert stats.frequencies(["bus", "ferry"]).tolist() == [1, 1]  # no vocabulary read
    monkeypatch.undo()
    hash_engine.ingest([ArticleIn("Ferry again", "A second ferry sailed.")])
    assert stats.frequencies(["ferry", "bus"]).tolist() == [2, 1]  # an ingest is a new generation
