"""Deduplicated creates and periodic slots for the in-memory store (issue 14): the same
behaviour as :mod:`~tasktrack.storage.dedup_sql` and :mod:`~tasktrack.storage.schedule_sql`,
under the store's lock instead of a unique index."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from tasktrack.domain.dedup import Created, Dedup, IdempotencyMismatch, Outcome
from tasktrack.domain.lifecycle import is_terminal
from tasktrack.domain.task import Task, TraceContext
from tasktrack.storage.events import LocalEvents


@dataclass
class DedupState:
    """What the SQL stores keep in ``idempotency_keys``, ``tasks.unique_key`` and
    ``schedule_runs``."""

    #: (org, key) → (fingerprint, task id, created at)
    idempotency: dict[tuple[str, str], tuple[str, str, float]] = field(default_factory=dict)
    unique_keys: dict[str, str] = field(default_factory=dict)
    #: schedule → slot → (task id, created at)
    slots: dict[str, dict[float, tuple[str, float]]] = field(default_factory=dict)


class MemoryDedup:
    """The deduplicating and periodic part of the memory store."""

    _tasks: dict[str, Task]
    _traces: dict[str, TraceContext]
    _lock: asyncio.Lock
    events: LocalEvents
    _dedup: DedupState

    async def create_deduplicated(
        self, task: Task, dedup: Dedup, born_after: float, trace: TraceContext | None = None
    ) -> Created:
        async with self._lock:
            winner = self._winner(task.org_id, dedup, born_after)
            if winner is not None:
                return winner
            self._tasks[task.id] = task
            if trace is not None:
                self._traces[task.id] = trace
            if dedup.unique_key is not None:
                self._dedup.unique_keys[task.id] = dedup.unique_key
            if dedup.idempotency_key is not None:
                record = (dedup.fingerprint, task.id, float(task.created_at))
                self._dedup.idempotency[(task.org_id, dedup.idempotency_key)] = record
            self.events.notify([task])
            return Created(task)

    def _winner(self, org_id: str, dedup: Dedup, born_after: float) -> Created | None:
        key = dedup.idempotency_key
        record = None if key is None else self._dedup.idempotency.get((org_id, key))
        if record is not None and record[2] >= born_after and record[1] in self._tasks:
            if record[0] != dedup.fingerprint:
                raise IdempotencyMismatch()
            return Created(self._tasks[record[1]], Outcome.REPLAYED)
        if dedup.unique_key is None:
            return None
        holder = next(
            (
                t
                for tid, k in self._dedup.unique_keys.items()
                if k == dedup.unique_key
                and (t := self._tasks.get(tid)) is not None
                and t.org_id == org_id
                and not is_terminal(t.status)
            ),
            None,
        )
        return None if holder is None else Created(holder, Outcome.EXISTING)

    async def unique_key_of(self, task_id: str) -> str | None:
        return self._dedup.unique_keys.get(task_id) if task_id in self._tasks else None

    async def prune_idempotency(self, created_before: float, limit: int) -> int:
        async with self._lock:
            old = sorted(
                (rec[2], k) for k, rec in self._dedup.idempotency.items() if rec[2] < created_before
            )[: max(limit, 0)]
            for _, k in old:
                del self._dedup.idempotency[k]
            return len(old)

    async def create_for_slot(self, schedule: str, slot: float, task: Task) -> Task | None:
        async with self._lock:
            runs = self._dedup.slots.setdefault(schedule, {})
            if slot in runs:
                return None
            runs[slot] = (task.id, float(task.created_at))
            self._tasks[task.id] = task
            self.events.notify([task])
            return task

    async def last_runs(self, schedules: Sequence[str]) -> dict[str, tuple[float, str]]:
        found: dict[str, tuple[float, str]] = {}
        for schedule in schedules:
            runs = self._dedup.slots.get(schedule)
            if runs:
                slot = max(runs)
                found[schedule] = (slot, runs[slot][0])
        return found

    async def prune_schedule_runs(self, created_before: float) -> int:
        async with self._lock:
            deleted = 0
            for runs in self._dedup.slots.values():
                latest = max(runs, default=None)
                for slot in [s for s, r in runs.items() if r[1] < created_before and s != latest]:
                    del runs[slot]
                    deleted += 1
            return deleted
