"""Retention: finished tasks (with their results, attempts and logs) are deleted once they
are older than their status's retention age.

An administrative use case, across organisations: the worker runs it in the background
(:mod:`tasktrack.worker.monitor`) and ``tasktrack tasks prune`` on demand. No caller's
:class:`~tasktrack.domain.identity.Principal` scopes it; deleting one task for a caller is
:meth:`tasktrack.service.tasks.TaskService.delete`.

Each batch is one short transaction of at most ``batch`` rows, and the pruner pauses between
batches, so claims and API writes (which on SQLite queue behind the one writer) wait for one
batch at most, never for a whole sweep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tasktrack.domain.lifecycle import Status
from tasktrack.storage.base import TaskStore

#: The statuses retention applies to, in the order a sweep visits them.
PRUNABLE = (Status.DONE, Status.ERROR, Status.CANCELLED)
#: How long a sweep waits for another process's prune to let go (on-demand sweeps only).
BUSY_PAUSE = 0.05
#: How long periodic slots stay recorded (only the latest per schedule is ever read again:
#: no scheduler creates a slot older than its catch-up window).
SLOT_RECORDS_KEPT = 86400.0


@dataclass(frozen=True)
class RetentionPolicy:
    """Seconds each finished status is kept (0: forever), and the rows per transaction."""

    ages: Mapping[Status, float] = field(default_factory=dict)
    batch: int = 200
    #: Pause between two batches, so waiting writes get the database in between.
    pause: float = 0.01
    #: Idempotency records older than this are deleted (issue 14; Settings.idempotency_ttl).
    idempotency_ttl: float = 86400.0

    def cutoffs(self, now: float) -> dict[Status, float]:
        """Per status with a retention age: tasks finished before this time go."""
        return {s: now - self.ages[s] for s in PRUNABLE if self.ages.get(s, 0) > 0}


class Pruner:
    """Deletes finished tasks past their retention, in small batches."""

    def __init__(
        self, store: TaskStore, policy: RetentionPolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock

    async def counts(self) -> dict[Status, int]:
        """How many tasks a sweep would delete now, per status (a dry run)."""
        cutoffs = self.policy.cutoffs(self.clock())
        return {s: await self.store.count_finished(s, before) for s, before in cutoffs.items()}

    async def sweep(self, wait_busy: bool = False) -> dict[Status, int]:
        """Delete everything past retention now; returns how many went per status.

        With ``wait_busy`` a sweep that finds another process pruning (PostgreSQL) waits
        its turn; without, it leaves that status to the other pruner.
        """
        cutoffs = self.policy.cutoffs(self.clock())
        return {s: await self._drain(s, before, wait_busy) for s, before in cutoffs.items()}

    async def sweep_records(self) -> int:
        """Delete expired idempotency records (in batches) and the slot records of periodic
        schedules older than :data:`SLOT_RECORDS_KEPT` (each schedule's latest stays: it is
        its last run). Returns how many rows went."""
        now = self.clock()
        # Not a deletion to report: it bounds the list counters' delta table (PostgreSQL).
        await self.store.compact_counts()
        total = await self.store.prune_schedule_runs(now - SLOT_RECORDS_KEPT)
        while True:
            deleted = await self.store.prune_idempotency(
                now - self.policy.idempotency_ttl, self.policy.batch
            )
            total += deleted
            if deleted < self.policy.batch:
                return total
            await asyncio.sleep(self.policy.pause)

    async def _drain(self, status: Status, before: float, wait_busy: bool) -> int:
        total = 0
        while True:
            deleted = await self.store.prune(status, before, self.policy.batch)
            total += deleted
            if deleted == self.policy.batch:  # maybe more: let waiting writes in first
                await asyncio.sleep(self.policy.pause)
                continue
            if deleted or not wait_busy or not await self._busy(status, before):
                return total
            await asyncio.sleep(BUSY_PAUSE)

    async def _busy(self, status: Status, before: float) -> bool:
        """Nothing was deleted, yet there is something to delete: another pruner has it."""
        return await self.store.count_finished(status, before) > 0
