"""The in-memory worker registry and overview reads (test doubles of the SQL stores)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable

from tasktrack.domain.lifecycle import RUNNING, TERMINAL, Status
from tasktrack.domain.overview import Durations, FinishedCount
from tasktrack.domain.task import Task
from tasktrack.domain.workers import WorkerInfo


class MemoryWorkerStore:
    """A :class:`~tasktrack.storage.base.WorkerStore` in a dict."""

    def __init__(self) -> None:
        self._rows: dict[str, WorkerInfo] = {}

    async def heartbeat(self, info: WorkerInfo, forget_before: float) -> None:
        self._rows[info.id] = dataclasses.replace(info, stopped_at=None)
        for worker_id, row in list(self._rows.items()):
            if row.heartbeat_at < forget_before:
                del self._rows[worker_id]

    async def deregister(self, worker_id: str, now: float) -> None:
        row = self._rows.get(worker_id)
        if row is not None:
            self._rows[worker_id] = dataclasses.replace(row, stopped_at=now, running=())

    async def workers(self) -> list[WorkerInfo]:
        return sorted(self._rows.values(), key=lambda w: (-w.heartbeat_at, w.id))


def _finished_at(task: Task) -> float:
    return task.last_finished_at.timestamp() if task.last_finished_at else -1.0


class MemoryStatsStore:
    """A :class:`~tasktrack.storage.base.StatsStore` over the in-memory tasks."""

    def __init__(self, tasks: Callable[[], Iterable[Task]]) -> None:
        self._all = tasks

    def _tasks(self) -> list[Task]:
        return list(self._all())

    async def finished_counts(
        self, org_id: str, since: float, bucket_seconds: int
    ) -> list[FinishedCount]:
        counts: dict[tuple[int, str], int] = {}
        for task in self._tasks():
            at = _finished_at(task)
            if task.org_id == org_id and task.status in TERMINAL and at >= since:
                key = (math.floor(at / bucket_seconds) * bucket_seconds, task.status.value)
                counts[key] = counts.get(key, 0) + 1
        return [FinishedCount(b, s, n) for (b, s), n in counts.items()]

    async def done_durations(self, org_id: str, since: float) -> list[Durations]:
        values: dict[str, list[float]] = {}
        for task in self._tasks():
            at = _finished_at(task)
            ok = task.org_id == org_id and task.status is Status.DONE and at >= since
            if ok and task.last_run_at is not None:
                run = max(at - task.last_run_at.timestamp(), 0.0)
                values.setdefault(task.name, []).append(run)
        return [Durations.of(name, runs) for name, runs in sorted(values.items())]

    async def unfinished_counts(self) -> dict[str, dict[Status, int]]:
        counts: dict[str, dict[Status, int]] = {}
        for task in self._tasks():
            if task.status is Status.QUEUED or task.status in RUNNING:
                by_status = counts.setdefault(task.org_id, {})
                by_status[task.status] = by_status.get(task.status, 0) + 1
        return counts
