"""The engine's statements, written for SQLite, as PostgreSQL runs them.

The engine and the features send SQL as SQLite writes it (`NewsStore`'s contract), so that no engine
code branches on the backend. What they use that PostgreSQL spells otherwise is rewritten here,
generically, outside string literals and quoted names:

- ``?`` placeholders become ``%s`` (and a literal ``%``, the modulo operator, ``%%``);
- ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``;
- ``INSERT OR REPLACE`` becomes an upsert on the table's primary key (`CONFLICT_KEYS`);
- ``date(x)`` becomes ``sqlite_date(x)``, SQLite's date() as schema.py defines it (``julianday`` is
  defined under its own name: PostgreSQL has none);
- an ``INSERT`` that `execute` sends returns its row's key, for the cursor's ``lastrowid``.

Statements only the SQLite store sends (FTS5's ``MATCH`` and ``bm25()``, ``json_each``) are not
translated: the store methods that send them have PostgreSQL SQL of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.storage.postgres.schema import CONFLICT_KEYS, ROW_KEYS

# A string literal, a quoted name, or a run of anything else (the code, which alone is rewritten); a
# quote left open is kept as it is, for PostgreSQL to report.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[^'\"]+|['\"]")
_INSERT = re.compile(
    r"^\s*INSERT\s+(?:OR\s+(?P<or>IGNORE|REPLACE)\s+)?INTO\s+\"?(?P<table>\w+)\"?\s*(?:\((?P<columns>[^)]*)\))?",
    re.IGNORECASE,
)
_OR_CLAUSE = re.compile(r"^(\s*INSERT)\s+OR\s+(?:IGNORE|REPLACE)\b", re.IGNORECASE)
_DATE_CALL = re.compile(r"(?<![\w.])date\s*\(", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """A statement as PostgreSQL takes it; ``key`` names the column it returns (an INSERT's row key)
    when it was asked to return one."""

    sql: str
    key: str | None = None


def _rewrite_code(code: str) -> str:
    """Placeholders and function names in a stretch of SQL outside literals and quoted names."""
    code = code.replace("%", "%%").replace("?", "%s")
    return _DATE_CALL.sub("sqlite_date(", code)


def _columns(text: str | None) -> list[str]:
    return [c.strip().strip('"') for c in (text or "").split(",") if c.strip()]


@lru_cache(maxsize=2048)
def translate(sql: str, returning: bool = False) -> Statement:
    """``sql`` (SQLite's) for PostgreSQL. With ``returning``, an INSERT into a table with a row key
    (`ROW_KEYS`) returns it. A ValueError says which statement cannot be translated."""
    body = "".join(
        token if token[0] in "'\"" else _rewrite_code(token) for token in _TOKENS.findall(sql)
    ).rstrip()
    body = body.removesuffix(";").rstrip()
    insert = _INSERT.match(sql)
    if insert is None:
        return Statement(body)
    table = insert["table"]
    if insert["or"]:
        body = _OR_CLAUSE.sub(r"\1", body, count=1)
        body += " " + _on_conflict(insert["or"].upper(), table, _columns(insert["columns"]), sql)
    key = ROW_KEYS.get(table) if returning and not _RETURNING.search(body) else None
    if key is not None:
        body += f' RETURNING "{key}"'
    return Statement(body, key)


def _on_conflict(kind: str, table: str, columns: list[str], sql: str) -> str:
    """What ``INSERT OR IGNORE`` / ``INSERT OR REPLACE`` do in SQLite, as PostgreSQL's ON CONFLICT."""
    if kind == "IGNORE":
        return "ON CONFLICT DO NOTHING"
    keys = CONFLICT_KEYS.get(table)
    if keys is None or not columns:
        raise ValueError(
            f"cannot run INSERT OR REPLACE on PostgreSQL without the table's key and the columns named: {sql}"
        )
    target = ", ".join(f'"{k}"' for k in keys)
    updates = [f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in keys]
    action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
    return f"ON CONFLICT ({target}) {action}"
