"""Opening the PostgreSQL stores from a URL: the shared SQL stores on a PostgresDialect."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tasktrack.errors import InvalidArgument
from tasktrack.storage.base import SchemaState
from tasktrack.storage.migrate import latest_version, pending
from tasktrack.storage.postgres.connection import PostgresDatabase
from tasktrack.storage.postgres.dialect import PostgresDialect
from tasktrack.storage.sql_store import SqlStores

#: Our own URL parameters (the rest are libpq's and pass through).
POOL_PARAMS = ("pool_min", "pool_max")


class PostgresStores(SqlStores):
    """Both PostgreSQL stores over one pool."""

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(PostgresDialect(db))
        self.db = db

    async def probe(self) -> SchemaState:
        # Through the pool, as requests go: a pool whose connections broke is not ready.
        return SchemaState(await self.db.schema_version(), latest_version("postgres"))

    async def close(self) -> None:
        await self.db.close()


def split_url(url: str) -> tuple[str, int, int]:
    """libpq URL without our pool parameters, plus (pool_min, pool_max)."""
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in POOL_PARAMS}
    rest = [(k, v) for k, v in query if k not in POOL_PARAMS]
    try:
        lo, hi = int(ours.get("pool_min", 1)), int(ours.get("pool_max", 10))
    except ValueError:
        raise InvalidArgument("pool_min and pool_max must be integers") from None
    if not 1 <= lo <= hi:
        raise InvalidArgument("need 1 <= pool_min <= pool_max")
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(rest), "")), lo, hi


async def open_postgres(url: str, *, upgrade: bool = True) -> PostgresStores:
    conninfo, lo, hi = split_url(url)
    db = PostgresDatabase(conninfo, min_size=lo, max_size=hi)
    await db.open()
    try:
        if upgrade:
            await db.upgrade()
        else:
            pending("postgres", await db.schema_version())
    except BaseException:
        await db.close()
        raise
    return PostgresStores(db)
