"""Schema version checks that work the same for every backend (for ``tasktrack db``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from tasktrack.errors import InvalidArgument
from tasktrack.storage.factory import sqlite_path
from tasktrack.storage.migrate import migrations


@dataclass(frozen=True)
class SchemaStatus:
    backend: str
    current: int
    latest: int

    @property
    def pending(self) -> int:
        # Counted, not subtracted: version numbers may have gaps (see migrate.migrations).
        return sum(m.version > self.current for m in migrations(self.backend))


def backend_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return "sqlite"
    if scheme.startswith("postgres"):
        return "postgres"
    raise InvalidArgument(f"no schema to manage for a {scheme!r} database")


async def schema_status(url: str) -> SchemaStatus:
    """Where the database at ``url`` stands, without changing it."""
    backend = backend_of(url)
    latest = migrations(backend)[-1].version
    if backend == "sqlite":
        from tasktrack.storage.sqlite.connection import SQLiteDatabase

        db = SQLiteDatabase(sqlite_path(url))
        try:
            return SchemaStatus(backend, db.schema_version(), latest)
        finally:
            db.close()
    from tasktrack.storage.postgres.connection import PostgresDatabase
    from tasktrack.storage.postgres.stores import split_url

    pg = PostgresDatabase(split_url(url)[0], min_size=1, max_size=1)
    await pg.open()
    try:
        return SchemaStatus(backend, await pg.schema_version(), latest)
    finally:
        await pg.close()
