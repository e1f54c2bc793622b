"""The worker's watch over attempts: its own running ones, and lost ones anywhere.

Three supervised loops (see :mod:`tasktrack.worker.supervise`):

* **heartbeat**: renews the leases of this worker's attempts every ``lease_seconds / 3``;
  an attempt missing from the answer lost its lease. If renewals fail (or hang) until a
  run's lease runs out, the run stops its handler itself (:meth:`Run.renewing`);
* **cancel watch**: notices cancel requests of running tasks, at once where the store
  pushes changes (PostgreSQL), else within ``poll_interval`` (a cheap read, not a write);
* **reaper**: every ``reaper_interval``, recovers tasks whose lease lapsed (their worker
  died), whoever ran them;
* **pruner**: every ``prune_interval``, deletes finished tasks past their retention age, in
  small batches (:mod:`tasktrack.service.retention`; one pruner at a time on PostgreSQL).

What a status means for an attempt is decided by the :class:`~tasktrack.worker.run.Run`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from tasktrack.service.retention import Pruner
from tasktrack.storage.base import TaskStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.run import Run
from tasktrack.worker.supervise import forever

log = logging.getLogger("tasktrack.worker")

LOST_REASON = "worker lost: its lease expired without a heartbeat"
#: Least time between two status reads of the cancel watch (seconds).
WATCH_COALESCE = 0.02


class Monitor:
    """The monitoring loops of the worker ``worker_id`` over its ``runs`` (by task id)."""

    def __init__(
        self,
        store: TaskStore,
        options: WorkerOptions,
        clock: Callable[[], float],
        worker_id: str,
        runs: Mapping[str, Run],
    ) -> None:
        self._store = store
        self._options = options
        self._clock = clock
        self._worker_id = worker_id
        self._runs = runs
        self._started = asyncio.Event()
        self._pruner = Pruner(store, options.retention(), clock)

    def run_started(self) -> None:
        """A new run began: the cancel watch includes it from now on."""
        self._started.set()

    def start(self) -> list[asyncio.Task[None]]:
        """Start the loops; they run until cancelled."""
        loops = (
            ("heartbeat", self._beat),
            ("cancel watch", self._watch),
            ("reaper", self._reap),
            ("pruner", self._prune),
        )
        return [asyncio.create_task(forever(name, step)) for name, step in loops]

    # -- heartbeat -------------------------------------------------------------------------

    async def _beat(self) -> None:
        await self.renew()
        await asyncio.sleep(self._options.lease_seconds / 3)

    async def renew(self) -> None:
        """Renew every lease this worker holds (ended runs too: their settle write is to
        come) and tell the live runs the answer."""
        runs = list(self._runs.values())
        if not runs:
            return
        at = asyncio.get_running_loop().time()
        for run in runs:
            run.renewing(at)
        held = await self._store.renew_leases(
            self._worker_id,
            [(r.task.id, r.task.attempts) for r in runs],
            self._options.lease_seconds,
            self._clock(),
        )
        for run in runs:
            if run.live:
                run.heartbeat(held.get(run.task.id), at)

    # -- cancel watch ------------------------------------------------------------------------

    async def _watch(self) -> None:
        self._started.clear()
        runs = list(self._runs.values())
        if not runs:
            await self._started.wait()
            return
        ids = [r.task.id for r in runs]
        if not await self._changed(ids):
            return  # only a new run started: watch again with it included
        # Coalesce: at full speed this worker's own claims and settles wake the watch
        # thousands of times a second, each for a status read of every run (tasks in hand
        # included). One read per WATCH_COALESCE serves them all, for that much more cancel
        # latency (profiled: the watch was ~11% of the event loop's CPU while draining).
        await asyncio.sleep(WATCH_COALESCE)
        runs = list(self._runs.values())
        statuses = await self._store.statuses([r.task.id for r in runs])
        for run in runs:
            if run.live:
                run.observe(statuses.get(run.task.id))

    async def _changed(self, ids: list[str]) -> bool:
        """Wait for a change to ``ids`` (True) or a new run (False)."""
        changed = asyncio.ensure_future(self._store.wait_changed(ids, self._options.poll_interval))
        started = asyncio.ensure_future(self._started.wait())
        try:
            done, _ = await asyncio.wait({changed, started}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            started.cancel()
        if changed in done:
            changed.result()  # a failed wait is the loop's failure, not a silent one
        return changed in done

    # -- reaper ----------------------------------------------------------------------------

    async def _reap(self) -> None:
        for task in await self._store.expire_leases(self._clock(), LOST_REASON):
            log.warning(
                "task %s attempt %d: recovered from a lost worker: now %s",
                task.id,
                task.attempts,
                task.status.value,
            )
        await asyncio.sleep(self._options.reaper_interval)

    # -- pruner (retention) ------------------------------------------------------------------

    async def _prune(self) -> None:
        swept = await self._pruner.sweep()
        if any(swept.values()):
            counts = ", ".join(f"{n} {s.value}" for s, n in swept.items() if n)
            log.info("pruned finished tasks past their retention: %s", counts)
        records = await self._pruner.sweep_records()
        if records:
            log.info("pruned %d expired idempotency and periodic-slot records", records)
        await asyncio.sleep(self._options.prune_interval)
