"""The SQLite stores: the default, one durable file.

The SQL is the shared store's (:mod:`~tasktrack.storage.sql_store`,
:mod:`~tasktrack.storage.sql_identity`); :class:`SQLiteDialect` runs it on the writer thread
and the readers of one :class:`SQLiteDatabase`.
"""

from __future__ import annotations

import asyncio

from tasktrack.storage.base import SchemaState
from tasktrack.storage.migrate import latest_version, pending
from tasktrack.storage.sql_store import SqlStores
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.dialect import SQLiteDialect


class SQLiteStores(SqlStores):
    """Both SQLite stores over one database file."""

    def __init__(self, db: SQLiteDatabase) -> None:
        super().__init__(SQLiteDialect(db))
        self.db = db

    async def probe(self) -> SchemaState:
        found = await asyncio.to_thread(self.db.probe_version)
        return SchemaState(found, latest_version("sqlite"))

    async def close(self) -> None:
        self.db.close()


def open_sqlite(path: str, *, synchronous: str = "FULL", upgrade: bool = True) -> SQLiteStores:
    """Open the database at ``path``, creating or upgrading its schema (or, with
    ``upgrade=False``, refusing a schema this code does not know).

    On failure the database is closed again: its reader threads and connections do not
    outlive the call.
    """
    db = SQLiteDatabase(path, synchronous=synchronous)
    try:
        if upgrade:
            db.upgrade()
        else:
            pending("sqlite", db.schema_version())
    except BaseException:
        db.close()
        raise
    return SQLiteStores(db)
