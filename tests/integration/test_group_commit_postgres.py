"""PostgreSQL group commit through a real server: concurrent writes share transactions, each
caller hears its own row back only after the commit, and a bad statement fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from tasktrack.errors import InvalidArgument
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres.connection import PostgresDatabase
from tasktrack.storage.postgres.dialect import PostgresDialect
from tests.integration.test_store_contract import NOW, new_task

pytestmark = pytest.mark.postgres


@pytest.fixture
async def dialect(pg_url: str) -> AsyncIterator[PostgresDialect]:
    db = PostgresDatabase(pg_url)
    await db.open()
    async with db.connection() as con:
        await con.execute("CREATE TABLE g (x int PRIMARY KEY, at timestamptz DEFAULT now())")
    yield PostgresDialect(db)
    await db.close()


async def test_concurrent_writes_share_transactions_and_each_gets_its_row(
    dialect: PostgresDialect, pg_url: str
) -> None:
    rows = await asyncio.gather(*(dialect.write_moves([_as_move(i)], True) for i in range(60)))
    assert [r[0][0] for r in rows] == list(range(60))
    with psycopg.connect(pg_url) as con:
        # Rows inserted in one transaction share its start time (now()): fewer distinct
        # times than rows means writes were committed together.
        distinct = con.execute("SELECT count(DISTINCT at), count(*) FROM g").fetchone()
    assert distinct is not None and distinct[1] == 60 and distinct[0] < 60


async def test_a_failing_statement_fails_alone(dialect: PostgresDialect, pg_url: str) -> None:
    moves = [_as_move(i) for i in range(10)] + [_as_move("not a number")]
    results = await asyncio.gather(
        *(dialect.write_moves([m], True) for m in moves), return_exceptions=True
    )
    assert [r[0][0] for r in results[:10] if isinstance(r, list)] == list(range(10))
    assert isinstance(results[10], InvalidArgument)  # the data error, for this write only
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT count(*) FROM g").fetchone() == (10,)


async def test_concurrent_creates_share_commits(pg_url: str) -> None:
    """A create is one INSERT that may share a transaction with the creates arriving
    meanwhile (one commit and WAL flush for the lot)."""
    stores = await open_stores(pg_url)
    try:
        tasks = [new_task(now=NOW + i) for i in range(60)]
        await asyncio.gather(*(stores.tasks.create(t) for t in tasks))
        assert [await stores.tasks.get(t.id) for t in tasks] == tasks
    finally:
        await stores.close()
    with psycopg.connect(pg_url) as con:
        # Rows written by one transaction carry its id (xmin).
        row = con.execute("SELECT count(DISTINCT xmin::text), count(*) FROM tasks").fetchone()
    assert row is not None and row[1] == 60 and row[0] < 60


async def test_concurrent_creates_become_one_statement(pg_url: str) -> None:
    """Creates arriving together are one multi-row INSERT, not a statement each: the
    statement-level counter trigger then writes one delta row per organisation, name and
    status for the whole batch instead of one per create."""
    stores = await open_stores(pg_url)
    try:
        await stores.tasks.create(new_task(now=NOW))  # alone: its own statement
        await asyncio.gather(*(stores.tasks.create(new_task(now=NOW + i)) for i in range(1, 61)))
    finally:
        await stores.close()
    with psycopg.connect(pg_url) as con:
        deltas = con.execute("SELECT count(*), sum(d) FROM task_count_deltas").fetchone()
    assert deltas is not None and deltas[1] == 61  # every create counted once
    assert deltas[0] <= 10  # 61 single INSERTs would have written 61 rows


def _as_move(x: int | str):  # type: ignore[no-untyped-def]
    # write_moves wraps a move as WITH moved AS (<update>) SELECT * FROM moved.
    return (("INSERT INTO g (x) VALUES (?::int) RETURNING x", (x,)), ())
