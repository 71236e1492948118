"""Plain data passed between the engine's parts and its front ends."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

SHARED = "shared"  # how the shared scope (stored as NULL) is named to users and in JSON


def scope_label(scope: str | None) -> str:
    """A scope as users see it: "shared", or the Discord server's id."""
    return scope or SHARED


@dataclass
class ArticleIn:
    """An article as a reader produced it, before cleaning and storage.

    ``id`` is the caller's own identifier when it has one; the ingest makes a stable one otherwise: from
    the URL, else from ``key`` (what names the article where it came from: the file it was read from,
    the name a file was uploaded under, so that an edited version replaces it), else from the text.
    ``published`` is an ISO 8601 date or datetime string, or None when unknown. ``scope`` is set by
    `Engine.ingest`: None for shared news, else the Discord server's id.
    """

    title: str
    text: str
    id: str | None = None
    url: str | None = None
    source: str | None = None
    published: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # where it came from (file:line or URL), for messages only
    key: str | None = None
    scope: str | None = None


class ArticleKey(NamedTuple):
    """What an article to be stored is known by: the stored one it is, if any, has the same id, URL
    or text (`NewsStore.find_existing_many`)."""

    article_id: str | None
    url: str | None
    content_hash: str
    scope: str | None = None


@dataclass(frozen=True)
class InputProblem:
    """Something a reader could not turn into an article; ingest reports it and goes on."""

    origin: str
    message: str


@dataclass(frozen=True)
class ArticleRef:
    """What an answer or search hit says about the article it quotes. An article uploaded to a
    Discord server has no outlet of its own: ``claimed_source`` is what the file said it was from."""

    id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    scope: str | None = None  # None: shared news; else the Discord server's id
    uploaded: bool = False
    claimed_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "scope": scope_label(self.scope)}

    def attributed(self, row: dict[str, Any]) -> ArticleRef:
        """This reference with the scope and upload attribution of its stored article ``row``."""
        meta = json.loads(row.get("meta") or "{}")
        return replace(
            self,
            scope=row["scope"],
            uploaded=bool(meta.get("uploaded")),
            claimed_source=meta.get("claimed_source"),
        )


@dataclass(frozen=True)
class Outlet:
    """Another outlet that carried the same story (a wire copy)."""

    source: str | None
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reported:
    """How many outlets carried a quoted story as wire copies, and since when (`index.news.corroboration`)."""

    outlets: int  # distinct outlets that carried the story, the quoted one included
    first: str | None  # the earliest published date or datetime among them (None: none dated)

    def to_dict(self) -> dict[str, Any]:
        return {"outlets": self.outlets, "first": self.first}


@dataclass(frozen=True)
class Differing:
    """One of the differing figures: as its sentence writes it, and the answer (its position in the
    answers) that states it."""

    figure: str
    answer: int
    article: ArticleRef

    def to_dict(self) -> dict[str, Any]:
        a = self.article
        return {
            "figure": self.figure,
            "answer": self.answer,
            "title": a.title,
            "source": a.source,
            "url": a.url,
            "published": a.published,
        }
