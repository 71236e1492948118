"""Moving a deployment: a data dir's news into an empty PostgreSQL database (`newsbot migrate --to`).

The copying is storage's (`index/storage/postgres/migrate.py`); this joins it to what only the engine
knows: which data dir the settings name, and how its passage vectors are derived from the stored
sentence vectors (`stored_passage_chunks`, FAISS's rebuild source). The writer locks of both the data
dir and the database are held throughout, so no ingest, forget or feed poll changes the news on
either side while it is copied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from index.core.errors import EngineError
from index.core.settings import Settings
from index.engine.parts import open_locks, open_store
from index.reading.ingest import stored_passage_chunks
from index.storage.store import Store

if TYPE_CHECKING:
    from index.storage.postgres.migrate import MigrationReport
    from index.storage.postgres.store import PostgresStore


def migrate_to_postgres(settings: Settings, url: str, *, progress: bool = False) -> MigrationReport:
    """Copy the data dir ``settings`` names into the PostgreSQL database at ``url`` (empty, or holding
    an unfinished copy of the same data dir, which goes on), and count both. An `EngineError` says
    why a database is refused and what to do."""
    if not settings.db_path.is_file():
        raise EngineError(
            f"there is no data dir at {settings.data_dir} ({settings.db_path.name} is missing): "
            "point --data-dir (or NEWSBOT_DATA_DIR) at the data dir to copy"
        )
    if not url.startswith(("postgresql://", "postgres://")):
        raise EngineError(f"--to must be a postgresql://user:password@host/database URL, not {url!r}")
    from index.storage.postgres.migrate import check_target, copy_data_dir

    data_dir, database = (settings.model_copy(update={"database_url": to}) for to in (None, url))
    source = cast(Store, open_store(data_dir))
    try:
        target = cast("PostgresStore", open_store(database))
        try:
            with open_locks(data_dir).writer(), open_locks(database).writer():
                check_target(target, source)
                dim = int(source.get_setting("dim") or 0)
                return copy_data_dir(
                    source,
                    target,
                    lambda every: stored_passage_chunks(source, dim, settings.passage_title_weight, every),
                    progress=progress,
                )
        finally:
            target.close()
    finally:
        source.close()
