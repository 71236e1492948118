"""What an answer says beyond its quote: a deep link to the sentence, the story's newer coverage,
the outlets that carried it, and the figures its top answers disagree on."""

from __future__ import annotations

from collections.abc import Sequence

from index.news.corroboration import reported, wire_groups
from index.news.figures import differing
from index.news.links import deep_link
from index.news.recency import newer
from index.news.stories import Stories
from index.search.answer import AskResult, article_ref
from index.search.candidates import Candidates
from index.search.query import Query
from index.storage.store import Store


def annotate(
    result: AskResult,
    query: Query,
    pks: Sequence[int],
    candidates: Candidates,
    stories: Stories,
    store: Store,
) -> None:
    """Fill in ``result``'s annotations (it answers ``query``); ``pks`` are its answers' article pks,
    in order."""
    groups = wire_groups(store, pks)
    for answer, pk in zip(result.answers, pks, strict=True):
        group = groups[pk]
        copies = {row["pk"] for row in group}  # the story in another outlet's words is no newer news
        # A wire copy holds only the sentences its story lacks: the story itself says what it is about.
        root = group[0]["root"] if group and group[0]["root"] in candidates.articles else pk
        answer.link = deep_link(answer.article.url, answer.quote)
        answer.newer = [
            article_ref(candidates.articles[other])
            for other in newer(root, candidates, stories)
            if other not in copies
        ]
        answer.reported_by = reported(group)
    if result.answered:
        result.differing = differing(query, result.answers, pks, stories.same)
