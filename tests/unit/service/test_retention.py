"""Retention as a use case: a sweep deletes what is past each status's age, in batches;
0 keeps a status forever; a dry run counts; deleting one task is the caller's own act."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.errors import Conflict, Forbidden, NotFound
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.retention import Pruner, RetentionPolicy
from tasktrack.service.tasks import TaskService
from tasktrack.storage.memory import MemoryTaskStore
from tests.conftest import ORG_A, USER_A, FakeClock
from tests.integration.test_store_retention import finished

DAY = 86400.0
NOW = 1_700_000_000.0


class CountingStore(MemoryTaskStore):
    """Records the limit of every prune call (to see the batches)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def prune(self, status: Status, finished_before: float, limit: int) -> int:
        deleted = await super().prune(status, finished_before, limit)
        self.batches.append(deleted)
        return deleted


async def aged(store: MemoryTaskStore, status: Status, days_ago: float, n: int = 1) -> None:
    for _ in range(n):
        await finished(store, status, NOW - days_ago * DAY)


async def test_a_sweep_deletes_each_status_past_its_age_only() -> None:
    store = MemoryTaskStore()
    await aged(store, Status.DONE, 8, n=3)
    await aged(store, Status.DONE, 6)
    await aged(store, Status.ERROR, 8)  # error is kept 30 days
    await aged(store, Status.CANCELLED, 8, n=2)
    policy = RetentionPolicy(
        {Status.DONE: 7 * DAY, Status.ERROR: 30 * DAY, Status.CANCELLED: 7 * DAY}
    )
    pruner = Pruner(store, policy, FakeClock(NOW))
    assert await pruner.counts() == {Status.DONE: 3, Status.ERROR: 0, Status.CANCELLED: 2}
    assert await pruner.sweep() == {Status.DONE: 3, Status.ERROR: 0, Status.CANCELLED: 2}
    assert (await store.count_by_status())[Status.DONE] == 1
    assert (await store.count_by_status())[Status.ERROR] == 1
    assert await pruner.sweep() == {Status.DONE: 0, Status.ERROR: 0, Status.CANCELLED: 0}


async def test_zero_keeps_a_status_forever() -> None:
    store = MemoryTaskStore()
    await aged(store, Status.DONE, 10_000)
    pruner = Pruner(store, RetentionPolicy({Status.DONE: 0, Status.ERROR: 1}), FakeClock(NOW))
    assert await pruner.counts() == {Status.ERROR: 0}
    assert await pruner.sweep() == {Status.ERROR: 0}
    assert (await store.count_by_status())[Status.DONE] == 1


async def test_a_sweep_goes_in_batches_of_the_policy_size() -> None:
    store = CountingStore()
    await aged(store, Status.DONE, 8, n=7)
    pruner = Pruner(store, RetentionPolicy({Status.DONE: DAY}, batch=3, pause=0), FakeClock(NOW))
    assert await pruner.sweep() == {Status.DONE: 7}
    assert store.batches == [3, 3, 1]


async def test_an_on_demand_sweep_waits_for_a_busy_pruner() -> None:
    """prune() answers 0 while another process prunes; wait_busy tries again."""

    class Busy(MemoryTaskStore):
        busy = 2

        async def prune(self, status: Status, finished_before: float, limit: int) -> int:
            if self.busy:
                self.busy -= 1
                return 0
            return await super().prune(status, finished_before, limit)

    store = Busy()
    await aged(store, Status.DONE, 8, n=2)
    pruner = Pruner(store, RetentionPolicy({Status.DONE: DAY}), FakeClock(NOW))
    assert await pruner.sweep() == {Status.DONE: 0}  # the background sweep leaves it
    assert await asyncio.wait_for(pruner.sweep(wait_busy=True), 5) == {Status.DONE: 2}


async def test_delete_is_scoped_and_needs_write_access() -> None:
    store = MemoryTaskStore()
    service = TaskService(store, TaskRegistry(), FakeClock(NOW))
    task = await finished(store, Status.DONE, NOW)
    alice = Principal(USER_A, ORG_A)
    with pytest.raises(Forbidden):
        await service.delete(Principal(USER_A, ORG_A, read_only=True), task.id)
    with pytest.raises(NotFound):
        await service.delete(Principal(USER_A, "b" * 24), task.id)
    assert (await service.delete(alice, task.id)).id == task.id
    with pytest.raises(NotFound):
        await service.delete(alice, task.id)
    queued = await finished(store, Status.DONE, NOW)
    await store.create(queued.evolve(id="f" * 24, status=Status.QUEUED))
    with pytest.raises(Conflict):
        await service.delete(alice, "f" * 24)
