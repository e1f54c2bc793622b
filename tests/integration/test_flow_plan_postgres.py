"""The limited claim's statements on PostgreSQL (issue 14, point 4) read indexes, not the
table: its queue read is the plain claim's (``tasks_claim`` in order, no sort, stale
statistics or not) with the full keys filtered out, and the running count reads only the
running tasks (``tasks_lease``)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.storage import flow_sql
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres.connection import CLAIM_SETTINGS, PostgresDatabase, with_settings
from tasktrack.storage.postgres.dialect import PostgresDialect, pg_sql
from tests.integration.test_claim_plan_postgres import nodes
from tests.integration.test_store_contract import NOW, new_task

pytestmark = pytest.mark.postgres
QUEUED = 3_000
DIALECT = PostgresDialect(PostgresDatabase("postgresql://unused"))


async def seed(pg_url: str) -> None:
    """A running acme task, then 3,000 queued tasks: acme's (blocked) and globex's."""
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("ANALYZE tasks")  # statistics of an empty queue, as after a quiet spell
    stores = await open_stores(pg_url)
    try:
        running = new_task(name="keyed", now=NOW - 10).evolve(
            status=Status.ACTIVE, concurrency_key="acme", lease_expires_at=NOW + 30
        )
        await stores.tasks.create(running)
        for start in range(0, QUEUED, 100):
            batch = [
                new_task(name="keyed", now=NOW + i / 1000).evolve(
                    concurrency_key="acme" if i < QUEUED - 5 else "globex"
                )
                for i in range(start, start + 100)
            ]
            await asyncio.gather(*(stores.tasks.create(t) for t in batch))
    finally:
        await stores.close()


def explain(pg_url: str, sql: str, args: tuple[Any, ...]) -> tuple[list[dict[str, Any]], list]:
    # A session like the store's claim connections; one transaction, rolled back.
    with psycopg.connect(with_settings(pg_url, CLAIM_SETTINGS)) as con:
        row = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {pg_sql(sql)}", args).fetchone()
        rows = con.execute(pg_sql(sql), args).fetchall()
        con.rollback()
    assert row is not None
    return list(nodes(row[0][0]["Plan"])), rows


async def test_the_limited_queue_read_skips_full_keys_from_the_claim_index(pg_url: str) -> None:
    await seed(pg_url)
    names = DIALECT.in_list("name", ["keyed"])
    skip = flow_sql.open_keys([("keyed", "acme")])
    queue = flow_sql.limited_queue(names, 2, NOW + 60, skip)
    plan, rows = explain(pg_url, *DIALECT.lock_rows(queue))
    assert not [n for n in plan if n["Node Type"] == "Sort"], plan
    scans = [n for n in plan if n.get("Relation Name") == "tasks"]
    assert [n.get("Index Name") for n in scans] == ["tasks_claim"], scans
    assert [r[2] for r in rows] == ["globex", "globex"]  # acme's backlog was walked past


async def test_the_running_count_reads_only_running_tasks(pg_url: str) -> None:
    await seed(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("ANALYZE tasks")
    plan, rows = explain(pg_url, *flow_sql.running(DIALECT, ["keyed"]))
    assert [n["Index Name"] for n in plan if "Index Name" in n] == ["tasks_lease"], plan
    assert not [n for n in plan if n["Node Type"] == "Seq Scan"], plan
    assert rows == [("keyed", "acme", 1)]
