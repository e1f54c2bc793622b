"""A claim on PostgreSQL touches the few rows it takes, however long the queue and whatever
the planner's statistics say.

The statistics are made stale on purpose, as in production after a quiet spell: ``ANALYZE``
runs while the queue is empty, then a burst is queued. With them, PostgreSQL 15 planned the
claim as a bitmap scan that sorts every queued row (5 ms a claim at 10,000 queued; the
benchmark's drain fell from ~560 to ~280 tasks/s). The store's claim runs the same two
statements explained here (built by the same code), in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tasktrack.storage import lifecycle_sql
from tasktrack.storage.dialect import Statement
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres.connection import CLAIM_SETTINGS, PostgresDatabase, with_settings
from tasktrack.storage.postgres.dialect import PostgresDialect, pg_sql
from tests.integration.test_store_contract import LEASE, NOW, new_task

pytestmark = pytest.mark.postgres
QUEUED = 3_000


def claim_statement(now: float, limit: int = 2) -> Statement:
    """The statement the store's claim runs (on a CLAIM_SETTINGS session), as psycopg takes it."""
    dialect = PostgresDialect(PostgresDatabase("postgresql://unused"))
    queue = lifecycle_sql.claim_queue(dialect.in_list("name", ["job"]), limit, now)
    update_set = lifecycle_sql.claim_set("w1", LEASE, now)
    sql, args = dialect.claim_statement(queue, update_set)
    return pg_sql(sql), args


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def test_claim_reads_the_queue_in_index_order_with_stale_statistics(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("ANALYZE tasks")  # statistics of an empty queue
    stores = await open_stores(pg_url)
    try:
        tasks = [new_task(now=NOW + i / 1000) for i in range(QUEUED)]
        for start in range(0, QUEUED, 100):
            await asyncio.gather(*(stores.tasks.create(t) for t in tasks[start : start + 100]))
    finally:
        await stores.close()

    claim, args = claim_statement(NOW + 60)
    # A session like the store's claim connections; one transaction, rolled back: nothing is
    # claimed.
    with psycopg.connect(with_settings(pg_url, CLAIM_SETTINGS)) as con:
        row = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {claim} ", args).fetchone()
        claimed = con.execute(f"{claim} ", args).fetchall()
        con.rollback()
    assert row is not None
    plan = list(nodes(row[0][0]["Plan"]))
    scans = [n for n in plan if n.get("Relation Name") == "tasks" and "Scan" in n["Node Type"]]
    queue_scan = [n for n in scans if n.get("Index Name") == "tasks_claim"]

    assert not [n for n in plan if n["Node Type"] == "Sort"], plan
    assert [n["Node Type"] for n in queue_scan] == ["Index Scan"], scans
    # The scan stopped after the rows it locked, instead of reading all 3,000 queued ones.
    assert queue_scan[0]["Actual Rows"] <= 2
    # The claim itself still takes the oldest queued tasks (the first two went to EXPLAIN).
    assert sorted(r[0] for r in claimed) == sorted(t.id for t in tasks[2:4])


async def test_without_the_claim_index_the_claim_is_slower_but_never_compiled(pg_url: str) -> None:
    # The forbidden sort is priced at 1e10; were it ever unavoidable, that price alone would
    # make PostgreSQL JIT-compile the claim (~80 ms here) on every call. CLAIM_SETTINGS turn
    # JIT off with it.
    stores = await open_stores(pg_url)
    try:
        for i in range(3):
            await stores.tasks.create(new_task(now=NOW + i))
    finally:
        await stores.close()
    claim, args = claim_statement(NOW + 60)
    with psycopg.connect(with_settings(pg_url, CLAIM_SETTINGS)) as con:
        con.execute("DROP INDEX tasks_claim")  # rolled back below
        row = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {claim} ", args).fetchone()
        con.rollback()
    assert row is not None
    explained = row[0][0]
    assert [n["Node Type"] for n in nodes(explained["Plan"]) if n["Node Type"] == "Sort"]
    assert explained["Plan"]["Total Cost"] > 1e9  # priced as a disabled sort ...
    assert "JIT" not in explained  # ... yet not compiled


async def test_the_store_claims_on_sessions_planned_for_claims(pg_url: str) -> None:
    # The plan tests above run the claim on such a session; this ties them to the store's.
    stores = await open_stores(pg_url)
    try:
        db = stores.tasks.dialect.db  # type: ignore[attr-defined]
        async with db.claim_connection() as con:
            settings = await (await con.execute("SHOW enable_sort")).fetchone()
            jit = await (await con.execute("SHOW jit")).fetchone()
        async with db.connection() as con:  # every other statement plans as usual
            usual = await (await con.execute("SHOW enable_sort")).fetchone()
    finally:
        await stores.close()
    assert (settings, jit, usual) == (("off",), ("off",), ("on",))


def test_claim_settings_keep_the_urls_own_options() -> None:
    url = with_settings("postgresql://h/db?options=-c%20search_path%3Dq", CLAIM_SETTINGS)
    assert psycopg.conninfo.conninfo_to_dict(url)["options"] == (
        "-c search_path=q -c enable_sort=off -c jit=off"
    )
