"""The worker registry's service (live-type cache, tenant view, failure) and the overview's
depth samples, with fake stores (issue 16). The real stores: tests/integration."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.workers import WorkerInfo, WorkerState
from tasktrack.errors import InvalidArgument, StorageError
from tasktrack.service.overview import OverviewService
from tasktrack.service.workers import WorkerService
from tasktrack.storage.memory import MemoryStores
from tests.conftest import ORG_A, ORG_B, USER_A, FakeClock
from tests.integration.test_store_contract import new_task

ALICE = Principal(USER_A, ORG_A)


def _worker(
    beat: float, types: tuple[str, ...] = ("a",), stopped: float | None = None
) -> WorkerInfo:
    return WorkerInfo("w", "h", 1, beat, beat, 5.0, types, ("default",), 1, (), stopped)


class CountingStore:
    """A worker store that counts reads and can be made to fail."""

    def __init__(self, rows: list[WorkerInfo]) -> None:
        self.rows = rows
        self.reads = 0
        self.fail = False

    async def heartbeat(self, info: WorkerInfo, forget_before: float) -> None: ...

    async def deregister(self, worker_id: str, now: float) -> None: ...

    async def workers(self) -> list[WorkerInfo]:
        self.reads += 1
        if self.fail:
            raise StorageError("database is down")
        return self.rows


@pytest.mark.parametrize(
    ("beat_age", "stopped", "state"),
    [(0, None, WorkerState.LIVE), (15, None, WorkerState.LIVE), (15.1, None, WorkerState.DEAD),
     (0, 1.0, WorkerState.STOPPED)],
)  # fmt: skip
def test_a_worker_is_dead_after_three_missed_heartbeats(
    beat_age: float, stopped: float | None, state: WorkerState
) -> None:
    assert _worker(100.0, stopped=stopped).state(100.0 + beat_age) is state


async def test_concurrent_creates_share_one_registry_read_until_it_expires() -> None:
    clock = FakeClock(1000.0)
    store = CountingStore([_worker(1000.0, ("a", "b"))])
    service = WorkerService(store, clock, cache_seconds=60)
    answers = await asyncio.gather(*(service.unserved(n) for n in ["a", "b", "c"] * 10))
    assert answers == [False, False, True] * 10
    assert store.reads == 1


async def test_an_unreadable_registry_never_warns() -> None:
    store = CountingStore([])
    store.fail = True
    assert await WorkerService(store, FakeClock(), cache_seconds=0).unserved("x") is False


async def test_a_dead_workers_types_count_as_unserved() -> None:
    clock = FakeClock(1000.0)
    store = CountingStore([_worker(900.0, ("a",))])
    assert await WorkerService(store, clock, cache_seconds=0).unserved("a") is True


async def test_depth_samples_accumulate_and_end_with_a_fresh_read() -> None:
    clock = FakeClock(1_700_000_000.0)
    stores = MemoryStores()
    overview = OverviewService(stores.stats, clock)
    await overview.sample()  # nothing unfinished yet: no organisation known
    await stores.tasks.create(new_task(org=ORG_A, now=clock.now))
    clock.advance(10)
    await overview.sample()
    await stores.tasks.create(new_task(org=ORG_B, now=clock.now))
    clock.advance(10)
    await overview.sample()
    clock.advance(5)
    result = await overview.overview(ALICE)
    assert [(s.queued, s.running) for s in result.depth] == [(1, 0), (1, 0), (1, 0)]
    assert result.depth[-1].at == clock.now
    counts = await stores.stats.unfinished_counts()
    assert counts[ORG_B] == {Status.QUEUED: 1}


@pytest.mark.parametrize("hours", [0, 25])
async def test_the_window_is_one_to_24_hours(hours: int) -> None:
    with pytest.raises(InvalidArgument):
        await OverviewService(MemoryStores().stats).overview(ALICE, hours)
