"""On PostgreSQL, concurrent writers and compactions never make a list total drift.

Two store objects (two connection pools, as two processes would have) create, claim, finish,
fail, cancel and delete tasks at once while a compactor folds deltas and a checker, in one
REPEATABLE READ snapshot at a time, compares every counter group (what list totals sum)
with a count of the tasks themselves.
"""

from __future__ import annotations

import asyncio
import random

import psycopg
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Scope, parse_field_filter
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres import dialect as pg_dialect
from tests.conftest import ORG_A, ORG_B
from tests.integration.test_store_contract import LEASE, NOW, new_task

NAMES = ("alpha", "beta", "gamma")
ROUNDS = 40
#: What list totals sum, and what they must equal, per (org, project, name, status).
COUNTERS = (
    "SELECT org_id, project_id, name, status, sum(n) FROM task_count_view"
    " GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0"
)
TASKS = (
    "SELECT org_id, coalesce(project_id, ''), name, status, count(*) FROM tasks GROUP BY 1, 2, 3, 4"
)


async def writer(stores: Stores, seed: int) -> None:
    rng = random.Random(seed)
    tasks = stores.tasks
    for i in range(ROUNDS):
        org = ORG_B if i % 7 == 0 else ORG_A
        project = "c" * 24 if i % 3 == 0 else None
        for _ in range(3):
            await tasks.create(new_task(org, rng.choice(NAMES), project=project, max_attempts=2))
        claimed = await tasks.claim(f"w{seed}", NAMES, 3, LEASE, NOW + i)
        for task in claimed:
            roll = rng.random()
            if roll < 0.4:
                await tasks.finish(task.id, task.attempts, NOW + i)
                if rng.random() < 0.3:
                    await tasks.delete(task.id, Scope(task.org_id))
            elif roll < 0.6:
                await tasks.fail(task.id, task.attempts, "boom", NOW + i)
            elif roll < 0.8:
                await tasks.retry(task.id, task.attempts, NOW + i, NOW + i)
            else:
                await tasks.request_cancel(task.id, Scope(task.org_id), "u", NOW + i)


async def compactor(stores: Stores, stop: asyncio.Event) -> int:
    folded = 0
    while not stop.is_set():
        folded += await stores.tasks.compact_counts()
        await asyncio.sleep(0.01)
    return folded


async def checker(url: str, stop: asyncio.Event) -> int:
    """Snapshots checked while the writers ran (each must agree exactly)."""
    checked = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as con:
        while not stop.is_set():
            async with con.transaction():
                await con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                counters = sorted(await (await con.execute(COUNTERS)).fetchall())
                tasks = sorted(await (await con.execute(TASKS)).fetchall())
            assert counters == tasks
            checked += 1
    return checked


async def test_concurrent_writers_keep_totals_exact(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_dialect, "VACUUM_AFTER", 1)  # the vacuum runs beside the writers too
    first, second = await open_stores(pg_url), await open_stores(pg_url)
    stop = asyncio.Event()
    try:
        checks = asyncio.create_task(checker(pg_url, stop))
        folds = asyncio.create_task(compactor(first, stop))
        await asyncio.gather(*(writer(s, n) for n, s in enumerate([first, second, first, second])))
        stop.set()
        assert await checks > 0
        assert await folds > 0  # the compactions really ran beside the writers
        await first.tasks.expire_leases(NOW + 10 * LEASE, "lost")
        await second.tasks.prune(Status.ERROR, NOW + 10 * LEASE, 1000)
        for status in (None, "queued", "done,error,cancelled", "cancelling"):
            await _totals_match(first, pg_url, status)
    finally:
        stop.set()
        await first.close()
        await second.close()


async def _totals_match(stores: Stores, url: str, status: str | None) -> None:
    filters = () if status is None else (parse_field_filter("status", status),)
    for org in (ORG_A, ORG_B):
        page = await stores.tasks.list_page(ListQuery(Scope(org), filters))
        where = "org_id = %s" + ("" if status is None else " AND status = ANY(%s)")
        args: list[object] = [org] + ([] if status is None else [status.split(",")])
        async with await psycopg.AsyncConnection.connect(url) as con:
            row = await (
                await con.execute(f"SELECT count(*) FROM tasks WHERE {where}", args)
            ).fetchone()
        assert row is not None and page.total == row[0]
