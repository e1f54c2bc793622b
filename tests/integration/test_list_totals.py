"""A list's ``total`` stays exact through every write, on every backend (issue 15 point 5).

The SQL stores answer totals whose filters are only organisation, project, name and status
from counters kept by triggers (migration 0011); any other filter counts the rows. Each
step below moves tasks through one verb of the lifecycle (create, claim, finish, retry,
cancel, stop, expire, lose, delete, prune), and after each one every filter combination the
counters serve is listed and its total compared with the tasks as they are, read one by one.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import FieldFilter, ListQuery, Scope, parse_field_filter
from tasktrack.domain.task import Task
from tasktrack.storage import counts_sql
from tasktrack.storage.base import Stores
from tasktrack.storage.sql import counted
from tests.conftest import ORG_A, ORG_B
from tests.integration.test_store_contract import LEASE, NOW, new_task

PROJECT = "c" * 24
SCOPES = (Scope(ORG_A), Scope(ORG_A, PROJECT), Scope(ORG_B))
STATUS_FILTERS = (None, "done", "queued,active", "cancelling,cancelled,error")
NAME_FILTERS = (None, "alpha", "alpha,beta")
TEXTS = (None, "ALP")
#: Filters the counters cannot answer: the rows are counted.
FALLBACKS = (parse_field_filter("currentStep", "[0,0]"), parse_field_filter("createdBy", "x"))


def counter_queries() -> Iterator[ListQuery]:
    for scope, status, name, text in itertools.product(SCOPES, STATUS_FILTERS, NAME_FILTERS, TEXTS):
        filters = tuple(
            parse_field_filter(field, raw)
            for field, raw in (("status", status), ("name", name))
            if raw is not None
        )
        yield ListQuery(scope, filters, text, limit=5)


def fallback_queries() -> Iterator[ListQuery]:
    for scope, extra in itertools.product(SCOPES, FALLBACKS):
        yield ListQuery(scope, (parse_field_filter("status", "done"), extra), limit=5)


def matches(task: Task, query: ListQuery) -> bool:
    scope = query.scope
    if task.org_id != scope.org_id or scope.project_id not in (None, task.project_id):
        return False
    if query.text and query.text.lower() not in task.name.lower():
        return False
    return all(_holds(task, f) for f in query.filters)


def _holds(task: Task, f: FieldFilter) -> bool:
    value = {"status": task.status.value, "name": task.name, "createdBy": task.created_by}.get(
        f.field, task.current_step
    )
    if f.range is not None:
        return f.range[0] <= int(value) <= f.range[1]
    return value in f.values


class World:
    """The tasks a test made, and a check that every list total matches them."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.ids: list[str] = []

    async def add(self, name: str, org: str = ORG_A, project: str | None = None, **kw: int) -> Task:
        task = new_task(org=org, name=name, project=project, **kw)
        await self.stores.tasks.create(task)
        self.ids.append(task.id)
        return task

    async def tasks(self) -> list[Task]:
        found = [await self.stores.tasks.get(i) for i in self.ids]
        return [t for t in found if t is not None]

    async def check(self, step: str) -> None:
        tasks = await self.tasks()
        wrong = []
        for query in [*counter_queries(), *fallback_queries()]:
            total = (await self.stores.tasks.list_page(query)).total
            expected = sum(matches(t, query) for t in tasks)
            if total != expected:
                wrong.append(f"{query.scope} {query.filters} {query.text!r}: {total} != {expected}")
        assert not wrong, f"after {step}:\n" + "\n".join(wrong)


def test_the_combinations_are_the_ones_the_counters_serve() -> None:
    assert all(counted(q) for q in counter_queries())
    assert not any(counted(q) for q in fallback_queries())


async def claim(stores: Stores, name: str, now: float = NOW) -> Task:
    (task,) = await stores.tasks.claim("w1", [name], 1, LEASE, now)
    return task


async def test_totals_stay_exact_through_the_lifecycle(stores: Stores) -> None:
    world = World(stores)
    tasks = stores.tasks
    for i in range(4):
        await world.add("alpha", project=PROJECT if i % 2 else None, max_attempts=2)
        await world.add("beta", project=PROJECT)
        await world.add("gamma")
        await world.add("alpha", org=ORG_B)
    await world.check("create")

    done = await claim(stores, "alpha")
    await world.check("claim")
    await tasks.finish(done.id, done.attempts, NOW + 1, result_json='{"ok": 1}')
    await world.check("finish")
    failed = await claim(stores, "beta")
    await tasks.fail(failed.id, failed.attempts, "boom", NOW + 1)
    await world.check("fail")
    retried = await claim(stores, "alpha")
    await tasks.retry(retried.id, retried.attempts, NOW, NOW + 1, "again")
    await world.check("retry")

    queued = (await world.tasks())[2]  # a gamma nobody claimed
    await tasks.request_cancel(queued.id, Scope(ORG_A), "u", NOW + 2)
    await world.check("cancel a queued task")
    running = await claim(stores, "gamma")
    await tasks.request_cancel(running.id, Scope(ORG_A), "u", NOW + 2)
    await world.check("cancel a running task")
    await tasks.stop(running.id, running.attempts, NOW + 3)
    await world.check("stop")

    await claim(stores, "alpha", NOW + 1)  # attempts left: expires back to queued
    await claim(stores, "beta", NOW + 1)  # one attempt: lost, to error
    await tasks.expire_leases(NOW + 1 + LEASE + 1, "lost")
    await world.check("expire and lose")
    released = await claim(stores, "gamma", NOW + 50)
    await tasks.release(released.id, released.attempts, NOW + 51)
    await world.check("release")

    await tasks.delete(done.id, Scope(ORG_A))
    await world.check("delete")
    assert await tasks.prune(Status.ERROR, NOW + 1000, 10) > 0
    await world.check("prune")
    await tasks.compact_counts()
    await world.check("compaction")


async def test_a_list_compacts_many_pending_deltas(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list that summed many pending deltas (PostgreSQL) folds them, and the totals hold."""
    monkeypatch.setattr(counts_sql, "COMPACT_AT", 3)
    world = World(stores)
    for _ in range(3):
        await world.add("alpha")
    await world.check("a list that compacts")
    assert await stores.tasks.compact_counts() == 0  # nothing was left pending
    await world.check("after compaction")


async def test_totals_stay_exact_when_one_statement_moves_many_tasks(stores: Stores) -> None:
    """A batch claim is one UPDATE of many tasks, and so are finishes committed together
    (PostgreSQL counts them in one statement-level trigger call, migration 13)."""
    world = World(stores)
    for i in range(3):
        await world.add("alpha", project=PROJECT if i % 2 else None)
        await world.add("beta")
        await world.add("alpha", org=ORG_B)
    # A claim takes one organisation's tasks (fairness between them): two batches.
    claimed = await stores.tasks.claim("w1", ["alpha", "beta"], 20, LEASE, NOW)
    claimed += await stores.tasks.claim("w1", ["alpha", "beta"], 20, LEASE, NOW)
    assert len(claimed) == 9 and len({t.org_id for t in claimed[:6]}) == 1
    await world.check("a batch claim")
    ends = [stores.tasks.finish(t.id, t.attempts, NOW + 1) for t in claimed[:6]]
    await asyncio.gather(*ends)
    await world.check("finishes committed together")
    assert await stores.tasks.expire_leases(NOW + 1 + LEASE + 1, "lost")
    await world.check("a lease sweep of many tasks")
