"""The worker's pruner loop: finished tasks past retention disappear in the background,
within a prune interval, and a failing sweep is retried rather than ending the loop."""

from __future__ import annotations

import asyncio

from tasktrack.domain.lifecycle import Status
from tasktrack.storage.memory import MemoryTaskStore
from tasktrack.worker.monitor import Monitor
from tasktrack.worker.options import WorkerOptions
from tests.conftest import FakeClock
from tests.helpers import eventually
from tests.integration.test_store_retention import finished

DAY = 86400.0
NOW = 1_700_000_000.0


class FlakyStore(MemoryTaskStore):
    """Its first prune fails, as a database outage would."""

    failed = False

    async def prune(self, status: Status, finished_before: float, limit: int) -> int:
        if not self.failed:
            self.failed = True
            raise ConnectionError("database went away")
        return await super().prune(status, finished_before, limit)


async def test_the_worker_prunes_in_the_background_and_survives_a_failure() -> None:
    store = FlakyStore()
    old = await finished(store, Status.DONE, NOW - 8 * DAY)
    young = await finished(store, Status.DONE, NOW - 6 * DAY)
    kept = await finished(store, Status.ERROR, NOW - 8 * DAY)  # errors are kept 30 days
    options = WorkerOptions(prune_interval=0.05, prune_batch=1)
    monitor = Monitor(store, options, FakeClock(NOW), "w1", {})
    loops = monitor.start()
    try:
        await eventually(lambda: store.get(old.id), lambda t: t is None, timeout=10, what="prune")
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
    assert store.failed
    assert await store.get(young.id) is not None
    assert await store.get(kept.id) is not None
