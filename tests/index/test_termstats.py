"""Term statistics: frequencies by seek, presence over the candidates only, common terms left out."""

import numpy as np
import pytest

from index.models import ArticleIn
from index.termstats import TermStats


def test_frequencies_presence_and_search_terms(hash_engine):
    texts = [f"The council said the ferry ran on day {i}." for i in range(40)] + ["Ferries were cancelled."]
    hash_engine.ingest([ArticleIn(f"Day {i}", t) for i, t in enumerate(texts)])
    stats = TermStats(hash_engine.store)
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
    stats = TermStats(hash_engine.store)
    assert stats.stems(["running", "ferries"]) == ["run", "ferri"]
    monkeypatch.setattr(TermStats, "_scratch", property(lambda self: pytest.fail("tokenized again")))
    assert stats.stems(["ferries", "running", "ferries"]) == ["ferri", "run", "ferri"]
    with pytest.raises(pytest.fail.Exception):
        stats.stems(["qantas"])  # a new word does go to the tokenizer
