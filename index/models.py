"""Plain data passed between the engine's parts and its front ends."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ArticleIn:
    """An article as a reader produced it, before cleaning and storage.

    ``id`` is the caller's own identifier when it has one; the ingest makes a stable one otherwise: from
    the URL, else from ``key`` (what names the article where it came from: the file it was read from,
    the name a file was uploaded under, so that an edited version replaces it), else from the text.
    ``published`` is an ISO 8601 date or datetime string, or None when unknown.
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


@dataclass(frozen=True)
class InputProblem:
    """Something a reader could not turn into an article; ingest reports it and goes on."""

    origin: str
    message: str


@dataclass(frozen=True)
class ArticleRef:
    """What an answer or search hit says about the article it quotes."""

    id: str
    title: str
    source: str | None
    url: str | None
    published: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outlet:
    """Another outlet that carried the same story (a wire copy)."""

    source: str | None
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
