"""Reading articles from files and folders: text, Markdown, HTML, JSON and JSON Lines.

Readers never stop at a bad input: each one becomes an InputProblem that tells the user what to fix,
and reading goes on with the rest.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from dateutil import parser as dateparser
from trafilatura.utils import decode_file

from index.clean import clean_text, split_title
from index.html import extract_article
from index.models import ArticleIn, InputProblem

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".json", ".jsonl"}
_SUPPORTED = ", ".join(sorted(SUFFIXES))

# Fields with a place of their own in ArticleIn; every other field of a JSON object goes into meta.
_OWN_FIELDS = frozenset({"id", "title", "text", "url", "source", "published"})

# dateutil fills what a date string lacks from this; year 1 thus means "no year given".
_NO_DATE = datetime(1, 1, 1)

_EMPTY = "no article text left after cleaning; nothing to index"


def read_paths(paths: Iterable[str | Path]) -> Iterator[ArticleIn | InputProblem]:
    """Articles from files and folders (recursively, in sorted order), with a problem for each bad input."""
    for path in map(Path, paths):
        if path.is_dir():
            files = list(_walk(path))
            if not files:
                yield InputProblem(str(path), f"no article files in this folder (looked for {_SUPPORTED})")
            for file in files:
                yield from _read_file(file)
        elif not path.exists():
            yield InputProblem(str(path), f"no such file: {path}")
        elif path.suffix.lower() not in SUFFIXES:
            yield InputProblem(
                str(path), f"unsupported file type {path.suffix or '(none)'!r}; use one of {_SUPPORTED}"
            )
        else:
            yield from _read_file(path)


def _walk(folder: Path) -> Iterator[Path]:
    """Known article files under ``folder``, sorted, skipping hidden files and folders."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES:
                yield Path(root, name)


def _read_file(path: Path) -> Iterator[ArticleIn | InputProblem]:
    origin = str(path)
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield InputProblem(origin, f"cannot read the file: {exc.strerror or exc}")
        return
    if b"\x00" in data:
        yield InputProblem(origin, f"binary file, not text; give articles as {_SUPPORTED} in UTF-8")
        return
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if suffix not in HTML_SUFFIXES:
            yield InputProblem(
                origin, f"not UTF-8 text (bad byte at offset {exc.start}); save the file as UTF-8"
            )
            return
        content = decode_file(data)  # web pages declare their own charset
    if suffix in TEXT_SUFFIXES:
        yield _text_article(content, origin)
    elif suffix in HTML_SUFFIXES:
        yield _html_article(content, origin)
    elif suffix == ".json":
        yield from _json_articles(content, origin)
    else:
        yield from _jsonl_articles(content, origin)


def _text_article(content: str, origin: str) -> ArticleIn | InputProblem:
    title, text = split_title(content)
    if not text:
        return InputProblem(origin, _EMPTY)
    return ArticleIn(title=title, text=text, origin=origin)


def _html_article(content: str, origin: str) -> ArticleIn | InputProblem:
    article = extract_article(content)
    if article is None:
        return InputProblem(
            origin, "no article text found in the page; save the article page itself, or its text as .txt"
        )
    article.origin = origin
    return article


def _json_articles(content: str, origin: str) -> Iterator[ArticleIn | InputProblem]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        yield InputProblem(
            origin,
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "give one article object or a list of them",
        )
        return
    if isinstance(data, list):
        for i, obj in enumerate(data):
            yield article_from_obj(obj, f"{origin}[{i}]")
    else:
        yield article_from_obj(data, origin)


def _jsonl_articles(content: str, origin: str) -> Iterator[ArticleIn | InputProblem]:
    # Not splitlines(): JSON strings may hold U+2028 and other characters it would split on.
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputProblem(
                f"{origin}:{number}",
                f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one article object",
            )
            continue
        yield article_from_obj(obj, f"{origin}:{number}")


def article_from_obj(obj: Any, origin: str) -> ArticleIn | InputProblem:
    """An article from a JSON object with ``text`` and optional id, title, url, source and published.

    Other fields are kept in ``meta``. Without a title, the first line of the text provides one.
    """
    if not isinstance(obj, dict):
        return InputProblem(origin, f"expected an article object, got {type(obj).__name__}")
    raw = obj.get("text")
    if not isinstance(raw, str):
        what = "no" if raw is None else f"a non-string ({type(raw).__name__})"
        return InputProblem(origin, f'{what} "text" field; put the article body in "text" as a string')
    title = " ".join(str(obj.get("title") or "").split())
    if title:
        text = clean_text(raw)
    else:
        title, text = split_title(raw)
    if not text:
        return InputProblem(origin, _EMPTY)
    return ArticleIn(
        title=title,
        text=text,
        id=_str_or_none(obj.get("id")),
        url=_str_or_none(obj.get("url")),
        source=_str_or_none(obj.get("source")),
        published=normalise_date(obj.get("published")),
        meta={key: value for key, value in obj.items() if key not in _OWN_FIELDS},
        origin=origin,
    )


def normalise_date(value: Any) -> str | None:
    """An ISO 8601 date (or datetime, when a time is given) for ``value``; unparseable values kept as is."""
    text = _str_or_none(value)
    if text is None:
        return None
    try:
        parsed = dateparser.parse(text, default=_NO_DATE)
    except (ValueError, OverflowError):
        parsed = _NO_DATE
    if parsed.year == _NO_DATE.year:  # unparseable, or no year in it: a guess would mislead
        log.debug("keeping date %r as given", text)
        return text
    if parsed.tzinfo is None and not (parsed.hour or parsed.minute or parsed.second or parsed.microsecond):
        return parsed.date().isoformat()
    return parsed.isoformat()


def _str_or_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
