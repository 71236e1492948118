"""Corroboration: an answer's wire group read in one query, and the outlets and first day it counts."""

from __future__ import annotations

from index.core.models import ArticleIn, Reported
from index.engine import Engine
from index.news.corroboration import reported, wire_groups

BELL = "The old bell rang again on Sunday after forty years of silence. Crowds gathered in the square."


def test_each_article_gets_its_whole_wire_group(hash_engine: Engine) -> None:
    report = hash_engine.ingest(
        [
            ArticleIn("Bell", BELL, id="bell", source="Gazette", published="2024-05-10"),
            ArticleIn("Bell", BELL, id="copy", source="Courier", published="2024-05-09"),
            ArticleIn("Quay", "The quay closed for repairs on Monday morning.", id="quay", source="Gazette"),
        ]
    )
    assert report.copies == 1
    pks = {r["id"]: r["pk"] for r in hash_engine.store.query("SELECT id, pk FROM articles")}
    groups = wire_groups(hash_engine.store, [pks["copy"], pks["quay"]])
    assert [r["pk"] for r in groups[pks["copy"]]] == [pks["bell"], pks["copy"]]  # the story, then its copy
    assert {r["root"] for r in groups[pks["copy"]]} == {pks["bell"]}
    assert groups[pks["quay"]] == [
        {"pk": pks["quay"], "root": pks["quay"], "source": "Gazette", "published": None}
    ]
    assert wire_groups(hash_engine.store, []) == {}


def test_reported_counts_outlets_once_and_dates_from_the_earliest() -> None:
    group = [
        {"source": "Gazette", "published": "2024-05-10T09:00:00+00:00"},
        {"source": "gazette", "published": "2024-05-08"},  # the same outlet, another spelling
        {"source": "Courier", "published": None},  # undated: no first day
        {"source": None, "published": "2024-05-01"},  # no outlet: not counted, but dated
    ]
    assert reported(group) == Reported(2, "2024-05-01")
    assert reported(group[:2]) is None  # one outlet is no corroboration
