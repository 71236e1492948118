"""Attached article files: which are accepted, and how problems with them are reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePath

from bot.errors import UserError
from index import SUFFIXES, ArticleIn, InputProblem, read_paths

ACCEPTED = ", ".join(sorted(SUFFIXES))


def check_upload(filename: str, size: int, max_bytes: int) -> None:
    """A `UserError` unless the readers take this kind of file and it is no bigger than a fetched page
    may be."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"I can read {ACCEPTED} files, not “{suffix or filename}”.")
    if size > max_bytes:
        raise UserError(
            f"That file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB "
            "(NEWSBOT_FETCH_MAX_BYTES)."
        )


def saved_name(filename: str) -> str:
    """A safe file name to save an upload under: no folders, nothing hidden."""
    return PurePath(filename).name.lstrip(".") or "upload.txt"


def read_upload(saved: Path) -> Iterator[ArticleIn | InputProblem]:
    """The articles in an upload saved under `saved_name` in a temporary folder, known by that name
    rather than by the folder's random path, so that an edited re-upload replaces what the first stored."""
    for item in read_paths([saved]):
        if isinstance(item, ArticleIn):
            if item.key is not None:
                item.key = f"upload/{saved.name}"
            _as_uploaded(item)
        yield item


def _as_uploaded(article: ArticleIn) -> None:
    """A file is its uploader's word, not an outlet's: the outlet and URL it names are kept as claims
    (shown as such), never as the article's outlet or link."""
    claims = {"claimed_source": article.source, "claimed_url": article.url}
    article.meta.update({key: value for key, value in claims.items() if value}, uploaded=True)
    article.source = article.url = None


def as_uploaded(problems: list[InputProblem], saved: Path, filename: str) -> list[InputProblem]:
    """Problems naming the uploaded file as the user called it, not the temporary copy."""
    where = str(saved)
    return [
        InputProblem(p.origin.replace(where, filename), p.message.replace(where, filename)) for p in problems
    ]
