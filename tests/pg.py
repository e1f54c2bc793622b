"""PostgreSQL for tests: one migrated template database per test session, a fresh copy of
it per test (``CREATE DATABASE ... TEMPLATE``, as procrastinate's tests do), dropped after.

Locally, an unreachable server skips these tests; in CI (``CI`` set) it fails them, so a
broken PostgreSQL can never turn into a silently green run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

ADMIN_URL = os.environ.get(
    "TASKTRACK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def url_for(dbname: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is unreachable at {ADMIN_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(message)


def create_template() -> str:
    """A migrated template database; returns its name."""
    import asyncio
    import concurrent.futures

    from tasktrack.storage.factory import open_stores

    name = f"tasktrack_tpl_{uuid.uuid4().hex[:12]}"
    with admin() as con:
        con.execute(f'CREATE DATABASE "{name}"')

    async def migrate() -> None:
        stores = await open_stores(url_for(name))
        await stores.close()

    # A thread of its own: this may be called from inside a running event loop (an async
    # fixture asking for the session template), where asyncio.run() is not allowed.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return name


def drop(name: str) -> None:
    with admin() as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_from(template: str) -> Iterator[str]:
    """A fresh database copied from ``template``; yields its URL, drops it afterwards."""
    name = f"tasktrack_t_{uuid.uuid4().hex[:12]}"
    with admin() as con:
        con.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield url_for(name)
    finally:
        drop(name)
