"""Open the stores named by a database URL (SQLAlchemy's URL convention)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tasktrack.errors import InvalidArgument
from tasktrack.storage.base import Stores


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` → ``rel.db``; ``sqlite:////abs.db`` → ``/abs.db``."""
    rest = url[len("sqlite://") :]
    if not rest.startswith("/"):
        raise InvalidArgument(f"malformed SQLite URL {url!r}: expected sqlite:///path")
    path = rest[1:].split("?", 1)[0]
    if not path:
        raise InvalidArgument(f"SQLite URL {url!r} names no file")
    return path


async def open_stores(
    url: str, *, upgrade: bool = True, sqlite_synchronous: str = "FULL"
) -> Stores:
    """Open (and by default create or upgrade) the database at ``url``.

    Schemes: ``sqlite:///…``, ``postgresql://…``, ``memory://``.
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from tasktrack.storage.memory import MemoryStores

        return MemoryStores()
    if scheme == "sqlite":
        from tasktrack.storage.sqlite.store import open_sqlite

        query = parse_qs(urlsplit(url).query)
        sync = query.get("synchronous", [sqlite_synchronous])[0]
        return open_sqlite(sqlite_path(url), synchronous=sync, upgrade=upgrade)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        from tasktrack.storage.postgres.stores import open_postgres

        return await open_postgres(url, upgrade=upgrade)
    raise InvalidArgument(f"unsupported database URL scheme {scheme!r}")
