"""Published dates: text that is no date is kept in meta, never stored, filtered or ordered as one."""

from __future__ import annotations

import json

from index.core.models import ArticleIn
from index.engine import Engine
from index.reading.readers import RAW_DATE, article_from_obj
from index.storage.store import Filters


def _stored(engine: Engine) -> dict[str, tuple[str | None, dict]]:
    rows = engine.store.query("SELECT title, published, meta FROM articles")
    return {row["title"]: (row["published"], json.loads(row["meta"] or "{}")) for row in rows}


def test_an_unreadable_date_is_kept_in_meta_and_left_out_of_ranges_and_stats(hash_engine: Engine) -> None:
    articles = [
        article_from_obj({"title": "Ferry", "text": "The ferry sailed late.", "published": "last week"}, "a"),
        # Given directly (an API caller, or a row of an older data dir ingested again): checked too.
        ArticleIn(title="Quay", text="The quay closed for repairs.", published="sometime in May"),
        ArticleIn(title="Pier", text="A new pier opened.", published="2024-03-01T23:30:00-05:00"),
        ArticleIn(title="Crane", text="The crane was inspected.", published="2024-02-10"),
    ]
    assert hash_engine.ingest(articles).new == 4
    stored = _stored(hash_engine)
    assert stored["Ferry"] == (None, {RAW_DATE: "last week"})
    assert stored["Quay"] == (None, {RAW_DATE: "sometime in May"})
    assert stored["Pier"] == ("2024-03-01T23:30:00-05:00", {})

    assert hash_engine.stats()["published"] == {"first": "2024-02-10", "last": "2024-03-01"}
    hits = hash_engine.search("ferry quay pier crane", k=10, filters=Filters(since="2024-03-01"))
    assert [hit.article.title for hit in hits] == ["Pier"]
