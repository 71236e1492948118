"""What the engine holds, as `newsbot stats` and the bot's /stats and outlet lists show it.

On PostgreSQL (NEWSBOT_DATABASE_URL) the news is in the database, named with its password masked, and
the passage vectors in its pgvector table (the index's own account names it): no index file is kept."""

from __future__ import annotations

from typing import Any

from index.core.errors import EngineError
from index.core.models import scope_label
from index.engine.parts import Parts
from index.storage.postgres.urls import masked
from index.storage.store import Filters, Store, published_day


def outlets(store: Store, scope: str | None = None) -> list[str]:
    """The outlets of shared news and ``scope``'s own, most articles first."""
    where, params = Filters(scope=scope).sql()
    rows = store.query(
        f"SELECT a.source FROM articles a WHERE a.source IS NOT NULL AND {where} "
        "GROUP BY a.source ORDER BY count(*) DESC",
        params,
    )
    return [r["source"] for r in rows]


def stats(parts: Parts, scope: str | None = None) -> dict[str, Any]:
    """What shared news and ``scope``'s own hold (the index's own figures are the whole data dir's)."""
    store, settings = parts.store, parts.settings
    where, params = Filters(scope=scope).sql()
    dates = store.query(
        f"SELECT min({published_day()}) AS first, max({published_day()}) AS last FROM articles a "
        f"WHERE {where}",
        params,
    )[0]
    by_outlet = store.query(
        "SELECT coalesce(source, '(unknown)') AS source, count(*) AS articles FROM articles a "
        f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC",
        params,
    )

    vectors, faiss = _index_figures(parts)
    url, faiss_path = settings.database_url, settings.faiss_path

    def count(table: str) -> int:
        rows = "articles a" if table == "articles" else f"{table} t JOIN articles a ON a.pk = t.article_pk"
        return int(store.query(f"SELECT count(*) AS n FROM {rows} WHERE {where}", params)[0]["n"])

    return {
        "data_dir": str(settings.data_dir),
        "database": masked(url) if url else None,
        "scope": scope_label(scope),
        "articles": count("articles"),
        "passages": count("passages"),
        "sentences": count("sentences"),
        "outlets": by_outlet,
        "published": {"first": dates["first"], "last": dates["last"]},
        "last_ingest": store.last_ingest(scope),
        "index": {
            "model": store.get_setting("model"),
            "dim": int(store.get_setting("dim") or 0) or None,
            "file": None if url else str(faiss_path),
            "file_bytes": faiss_path.stat().st_size if not url and faiss_path.exists() else 0,
            "vectors": vectors,
            "faiss": faiss,  # the index's own account (`PassageIndex.info`); None when not loadable
        },
    }


def _index_figures(parts: Parts) -> tuple[int | None, dict[str, object] | None]:
    """What FAISS holds, which may differ from the passages SQLite holds, and the index's own account
    of itself (None, None: the index cannot be used with this model). Nothing ingested yet: 0 and
    None, without loading the model for its dimension."""
    if not parts.has_index and parts.store.get_setting("dim") is None:
        return 0, None
    try:
        index = parts.index
    except EngineError:
        return None, None
    return index.count, index.info
