"""Reading articles from files and folders: text, Markdown, HTML, JSON and JSON Lines.

Readers never stop at a bad input: each one becomes an InputProblem that tells the user what to fix,
and reading goes on with the rest. What they accept is bounded (see `index.core.limits`), so that no input,
however hostile, costs the good inputs read with it.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from index.core.dates import normalise_date
from index.core.limits import MAX_DOCUMENT_BYTES, MAX_FIELD_CHARS, MAX_JSON_DEPTH, MAX_LINE_CHARS
from index.core.models import ArticleIn, InputProblem
from index.reading.clean import clean_text, split_title
from index.reading.html import decode_page, extract_article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".json", ".jsonl"}
_SUPPORTED = ", ".join(sorted(SUFFIXES))

# Fields with a place of their own in ArticleIn; every other field of a JSON object goes into meta.
_OWN_FIELDS = frozenset({"id", "title", "text", "url", "source", "published"})

# The meta field keeping a published date as given when it cannot be read as one ("last week").
RAW_DATE = "published_raw"

_EMPTY = "no article text left after cleaning; nothing to index"

# JSON's "\ud800" escapes give lone surrogates, which no UTF-8 (so no SQLite) can hold.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep"
_ONE_ARTICLE = TEXT_SUFFIXES | HTML_SUFFIXES  # files holding one article each


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
        size = path.stat().st_size
        if suffix in _ONE_ARTICLE and size > MAX_DOCUMENT_BYTES:
            yield InputProblem(
                origin,
                f"{size:,} bytes is too big for one article (the limit is {MAX_DOCUMENT_BYTES:,}); "
                "split it, or give many articles as .jsonl",
            )
            return
        data = path.read_bytes()
    except OSError as exc:
        yield InputProblem(origin, f"cannot read the file: {exc.strerror or exc}")
        return
    if suffix == ".jsonl":
        lines = [_decode_line(raw) for raw in data.removeprefix(codecs.BOM_UTF8).split(b"\n")]
        unreadable = sum(text is None for text, _ in lines)
        if unreadable * 2 <= sum(text is None or bool(text.strip()) for text, _ in lines):
            yield from _jsonl_articles(lines, origin)  # mostly text: a bad line costs only itself
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
        content = decode_page(data)  # web pages declare their own charset
    key = str(path.resolve())
    if suffix in TEXT_SUFFIXES:
        yield _guarded(origin, _text_article, content, origin, key)
    elif suffix in HTML_SUFFIXES:
        yield _guarded(origin, _html_article, content, origin, key)
    else:
        yield from _json_articles(content, origin)


def _guarded(
    origin: str, read: Callable[..., ArticleIn | InputProblem], *args: Any
) -> ArticleIn | InputProblem:
    """``read(*args)``, with whatever it raises made this input's problem: a parser's bug (trafilatura,
    dateutil) must cost the one input that triggers it, not the rest of the run."""
    try:
        return read(*args)
    except Exception as exc:
        log.exception("reading %s failed", origin)
        return InputProblem(
            origin, f"could not be read ({type(exc).__name__}: {exc}); check the input, or report this"
        )


def _text_article(content: str, origin: str, key: str) -> ArticleIn | InputProblem:
    title, text = split_title(content)
    if not text:
        return InputProblem(origin, _EMPTY)
    return ArticleIn(title=title, text=text, origin=origin, key=key)


def _html_article(content: str, origin: str, key: str) -> ArticleIn | InputProblem:
    article = extract_article(content)
    if article is None:
        return InputProblem(
            origin, "no article text found in the page; save the article page itself, or its text as .txt"
        )
    article.origin = origin
    article.key = key
    return article


def _json_articles(content: str, origin: str) -> Iterator[ArticleIn | InputProblem]:
    hint = "give one article object or a list of them"
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        yield InputProblem(
            origin, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); {hint}"
        )
        return
    except RecursionError:  # the parser gives up near 1,000 levels
        yield InputProblem(origin, f"JSON {_TOO_DEEP}; {hint}")
        return
    if data == []:
        yield InputProblem(origin, f"an empty list, no articles in it; {hint}")
    elif isinstance(data, list):
        for i, obj in enumerate(data):
            yield _guarded(f"{origin}[{i}]", article_from_obj, obj, f"{origin}[{i}]")
    else:
        yield _guarded(origin, article_from_obj, data, origin)


def _decode_line(raw: bytes) -> tuple[str | None, str]:
    """A line of a JSON Lines file as text, or None and why it is no text."""
    if b"\x00" in raw:
        return None, "binary data (a NUL byte), not text; each line must be one article object"
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (bad byte at column {exc.start + 1}); save the file as UTF-8"


def _jsonl_articles(lines: list[tuple[str | None, str]], origin: str) -> Iterator[ArticleIn | InputProblem]:
    """One article or problem per line; the lines were split at line feeds only, not as splitlines()
    splits, since JSON strings may hold U+2028 and other characters it would split at."""
    hint = "each line must be one article object"
    if all(text is not None and not text.strip() for text, _ in lines):
        yield InputProblem(origin, f"an empty file, no articles in it; {hint}")
    for number, (line, unreadable) in enumerate(lines, start=1):
        where = f"{origin}:{number}"
        if line is None:
            yield InputProblem(where, unreadable)
            continue
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield InputProblem(
                where,
                f"the line is {len(line):,} characters long, over the {MAX_LINE_CHARS:,} an article may take",
            )
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputProblem(where, f"not valid JSON ({exc.msg} at column {exc.colno}); {hint}")
            continue
        except RecursionError:
            yield InputProblem(where, f"JSON {_TOO_DEEP}; {hint}")
            continue
        yield _guarded(where, article_from_obj, obj, where)


def article_from_obj(obj: Any, origin: str) -> ArticleIn | InputProblem:
    """An article from a JSON object with ``text`` and optional id, title, url, source and published.

    Other fields are kept in ``meta``. Without a title, the first line of the text provides one.
    """
    if not isinstance(obj, dict):
        return InputProblem(origin, f"expected an article object, got {type(obj).__name__}")
    try:
        obj = _storable(obj)
    except _TooDeep:
        return InputProblem(origin, f"the article object is {_TOO_DEEP}; flatten its fields")
    for name in ("id", "url", "source", "published"):
        if len(value := _str_or_none(obj.get(name)) or "") > MAX_FIELD_CHARS:
            return InputProblem(
                origin,
                f'the "{name}" field is {len(value):,} characters long; the limit is {MAX_FIELD_CHARS:,}',
            )
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
    article = ArticleIn(
        title=title,
        text=text,
        id=_str_or_none(obj.get("id")),
        url=_str_or_none(obj.get("url")),
        source=_str_or_none(obj.get("source")),
        meta={key: value for key, value in obj.items() if key not in _OWN_FIELDS},
        origin=origin,
    )
    set_published(article, obj.get("published"))
    return article


class _TooDeep(Exception):
    pass


def _storable(value: Any, depth: int = 1) -> Any:
    """``value`` with lone surrogates replaced by U+FFFD; `_TooDeep` past `MAX_JSON_DEPTH` levels."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list | dict) and depth > MAX_JSON_DEPTH:
        raise _TooDeep
    if isinstance(value, list):
        return [_storable(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item, depth + 1) for key, item in value.items()}
    return value


def set_published(article: ArticleIn, value: Any) -> None:
    """The article's date from ``value``; text that is no date is kept in its meta (`RAW_DATE`), so
    that it is never stored, filtered or ordered as a date."""
    text = _str_or_none(value)
    article.published = normalise_date(text)
    if text is not None and article.published is None:
        log.debug("%s: %r is not a date; keeping it in meta.%s", article.origin, text, RAW_DATE)
        article.meta[RAW_DATE] = text


def _str_or_none(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
