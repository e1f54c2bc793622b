"""Retention in the storage contract: delete one finished task, prune the oldest finished
ones per status. The same behaviour on memory, SQLite and PostgreSQL; on the SQL stores the
task's child rows (result, attempts, logs) go with it, and prune reads the tasks_finished
index rather than scanning the table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.logs import LogEntry
from tasktrack.domain.task import Task
from tasktrack.errors import Conflict, NotFound
from tasktrack.storage import retention_sql
from tasktrack.storage.base import Stores, TaskStore
from tasktrack.storage.factory import open_stores
from tests.conftest import ORG_A, ORG_B
from tests.integration.test_store_contract import LEASE, NOW, claim_one, new_task


async def finished(store: TaskStore, status: Status, at: float, org: str = ORG_A) -> Task:
    """A task of ``org`` that ended ``status`` at ``at``."""
    task = new_task(org=org, now=at - 10)
    await store.create(task)
    if status is Status.CANCELLED:
        return await store.request_cancel(task.id, Scope(org), task.created_by, at)
    claimed = (await store.claim("w1", ["job"], 1, LEASE, at - 5))[0]
    if status is Status.DONE:
        return await store.finish(claimed.id, claimed.attempts, at)
    return await store.fail(claimed.id, claimed.attempts, "boom", at)


async def test_delete_removes_a_finished_task_of_the_scope(stores: Stores) -> None:
    task = await finished(stores.tasks, Status.DONE, NOW)
    deleted = await stores.tasks.delete(task.id, Scope(ORG_A))
    assert deleted.id == task.id and deleted.status is Status.DONE
    assert await stores.tasks.get(task.id) is None
    with pytest.raises(NotFound):
        await stores.tasks.delete(task.id, Scope(ORG_A))


@pytest.mark.parametrize("status", [Status.ERROR, Status.CANCELLED])
async def test_delete_takes_every_finished_status(stores: Stores, status: Status) -> None:
    task = await finished(stores.tasks, status, NOW)
    assert (await stores.tasks.delete(task.id, Scope(ORG_A))).status is status
    assert await stores.tasks.get(task.id) is None


async def test_delete_refuses_unfinished_tasks(stores: Stores) -> None:
    queued = new_task()
    await stores.tasks.create(queued)
    running = new_task(now=NOW + 1)
    await stores.tasks.create(running)
    with pytest.raises(Conflict):
        await stores.tasks.delete(queued.id, Scope(ORG_A))
    active = await claim_one(stores.tasks, NOW + 2)
    with pytest.raises(Conflict):
        await stores.tasks.delete(active.id, Scope(ORG_A))
    cancelling = await stores.tasks.request_cancel(active.id, Scope(ORG_A), "u", NOW + 3)
    assert cancelling.status is Status.CANCELLING
    with pytest.raises(Conflict):
        await stores.tasks.delete(active.id, Scope(ORG_A))
    assert await stores.tasks.get(queued.id) is not None
    assert await stores.tasks.get(active.id) is not None


async def test_delete_outside_the_scope_is_not_found(stores: Stores) -> None:
    task = await finished(stores.tasks, Status.DONE, NOW)
    with pytest.raises(NotFound):
        await stores.tasks.delete(task.id, Scope(ORG_B))
    with pytest.raises(NotFound):
        await stores.tasks.delete(task.id, Scope(ORG_A, "d" * 24))
    unfinished = new_task(now=NOW + 1)
    await stores.tasks.create(unfinished)
    with pytest.raises(NotFound):  # another org's unfinished task: 404, not 409
        await stores.tasks.delete(unfinished.id, Scope(ORG_B))
    assert await stores.tasks.get(task.id) is not None


async def test_prune_deletes_the_oldest_of_one_status_before_the_cutoff(stores: Stores) -> None:
    done = [await finished(stores.tasks, Status.DONE, NOW + i * 60) for i in range(5)]
    error = await finished(stores.tasks, Status.ERROR, NOW)
    other_org = await finished(stores.tasks, Status.DONE, NOW + 30, org=ORG_B)
    cutoff = NOW + 3 * 60  # done[0..2] and other_org finished before it
    assert await stores.tasks.count_finished(Status.DONE, cutoff) == 4
    assert await stores.tasks.prune(Status.DONE, cutoff, 2) == 2
    left = {t.id for t in [*done, error, other_org] if await stores.tasks.get(t.id)}
    # the two oldest (done[0] at NOW, other_org at NOW + 30) went, whatever their org
    assert left == {t.id for t in done[1:]} | {error.id}
    assert await stores.tasks.prune(Status.DONE, cutoff, 100) == 2
    assert await stores.tasks.prune(Status.DONE, cutoff, 100) == 0
    assert await stores.tasks.count_finished(Status.DONE, cutoff) == 0
    assert await stores.tasks.get(done[3].id) is not None
    assert await stores.tasks.get(error.id) is not None


async def test_prune_never_touches_unfinished_tasks(stores: Stores) -> None:
    queued = new_task(now=NOW - 1000)
    await stores.tasks.create(queued)
    for status in (Status.DONE, Status.ERROR, Status.CANCELLED):
        assert await stores.tasks.prune(status, NOW + 10**6, 100) == 0
    assert await stores.tasks.get(queued.id) is not None
    with pytest.raises(ValueError):
        await stores.tasks.prune(Status.QUEUED, NOW, 100)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_child_rows_go_with_the_task(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/t.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    stores = await open_stores(url)
    try:
        kept = await finished(stores.tasks, Status.DONE, NOW + 10**5)
        gone = await finished(stores.tasks, Status.DONE, NOW)
        dialect = stores.tasks.dialect  # type: ignore[attr-defined]
        for task in (kept, gone):
            await dialect.write_all(_children(task.id))
        assert await stores.tasks.prune(Status.DONE, NOW + 1, 10) == 1
        for table in ("task_results", "task_attempts", "task_logs"):
            rows = await dialect.scan_all((f"SELECT DISTINCT task_id FROM {table}", ()))
            assert [r[0] for r in rows] == [kept.id], table
    finally:
        await stores.close()


def _children(task_id: str) -> list[tuple[str, tuple[object, ...]]]:
    return [
        ("INSERT INTO task_results VALUES (?, 1, '{}', ?)", (task_id, NOW)),
        (
            # (attempt 1 is already recorded by the finish that ended the task)
            "INSERT INTO task_attempts (task_id, attempt, started_at, ended_at, outcome) "
            "VALUES (?, 99, ?, ?, 'done')",
            (task_id, NOW, NOW),
        ),
        (
            "INSERT INTO task_logs (task_id, attempt, at, level, message) "
            "VALUES (?, 1, ?, 'INFO', 'hi')",
            (task_id, NOW),
        ),
    ]


def test_prune_reads_the_finished_index_on_sqlite(tmp_path: Path) -> None:
    """EXPLAIN QUERY PLAN of the prune and count: the tasks_finished index, no table scan."""
    import asyncio

    path = tmp_path / "plan.db"

    async def make() -> None:
        await (await open_stores(f"sqlite:///{path}")).close()

    asyncio.run(make())
    con = sqlite3.connect(path)
    for sql, args in (
        retention_sql.prune(Status.DONE, NOW, 500),
        retention_sql.count(Status.ERROR, NOW),
    ):
        plan = [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
        assert any("tasks_finished" in step for step in plan), plan
        assert not any(step.startswith("SCAN tasks") for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
    con.close()


async def test_prune_reads_the_finished_index_on_postgres(pg_url: str) -> None:
    """The generic plan (what a prepared statement settles on) uses tasks_finished too."""
    import psycopg

    await (await open_stores(pg_url)).close()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as con:
        await con.execute("SET plan_cache_mode = force_generic_plan")
        await con.execute("SET enable_seqscan = off")  # a tiny table must not hide a miss
        for sql, args in (
            retention_sql.prune(Status.DONE, NOW, 500),
            retention_sql.count(Status.ERROR, NOW),
        ):
            text = sql.replace("?", "%s")
            cursor = await con.execute(f"EXPLAIN {text}", args)
            plan = "\n".join(row[0] for row in await cursor.fetchall())
            assert "tasks_finished" in plan, plan
            assert "Seq Scan" not in plan, plan


async def test_one_pruner_at_a_time_on_postgres(pg_url: str) -> None:
    """While another connection holds the prune lock, a prune deletes nothing and returns at
    once (no waiting); once it is released, the prune goes ahead."""
    import psycopg

    from tasktrack.storage.postgres.dialect import PRUNE_LOCK

    stores = await open_stores(pg_url)
    try:
        await finished(stores.tasks, Status.DONE, NOW)
        async with await psycopg.AsyncConnection.connect(pg_url) as other:
            async with other.transaction():
                await other.execute("SELECT pg_advisory_xact_lock(%s)", (PRUNE_LOCK,))
                assert await stores.tasks.prune(Status.DONE, NOW + 1, 10) == 0
                assert await stores.tasks.count_finished(Status.DONE, NOW + 1) == 1
        assert await stores.tasks.prune(Status.DONE, NOW + 1, 10) == 1
    finally:
        await stores.close()


async def test_what_a_task_left_behind_goes_with_it(stores: Stores) -> None:
    """Through the store's own verbs on every store (the in-memory one included): after a
    delete, the task's result, attempts and log lines are gone too."""
    store = stores.tasks
    task = new_task(org=ORG_A, now=NOW)
    await store.create(task)
    claimed = (await store.claim("w1", ["job"], 1, LEASE, NOW))[0]
    await store.append_logs(task.id, claimed.attempts, [LogEntry(NOW, "INFO", "hi")])
    await store.finish(task.id, claimed.attempts, NOW + 1, result_json='{"answer": 42}')
    assert await store.get_result(task.id) is not None
    await store.delete(task.id, Scope(ORG_A))
    assert await store.get_result(task.id) is None
    assert await store.attempts(task.id) is None
    assert await store.logs(task.id) == []
