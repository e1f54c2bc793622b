"""The worker's entry in the worker registry (issue 16): registered at start, a heartbeat
every ``heartbeat_interval``, deregistered on a clean shutdown.

The heartbeat is its own supervised loop rather than a part of the lease renewal: leases are
renewed only while attempts run (and only every ``lease_seconds / 3``), while the registry
must hear from an idle worker too, and often enough that a dead one is noticed within
seconds. A failed beat is logged and retried like every loop (:mod:`.supervise`); the worker
keeps running tasks meanwhile: the registry informs people, it decides nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Iterable

from tasktrack.domain.workers import DEFAULT_QUEUE, RunningAttempt, WorkerInfo
from tasktrack.storage.workers_base import WorkerStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.run import Run

log = logging.getLogger("tasktrack.worker")


class Registration:
    """Keeps the registry row of the worker ``worker_id`` current."""

    def __init__(
        self,
        store: WorkerStore,
        options: WorkerOptions,
        clock: Callable[[], float],
        worker_id: str,
        task_types: Iterable[str],
    ) -> None:
        self._store = store
        self._options = options
        self._clock = clock
        self._id = worker_id
        self._types = tuple(task_types)
        self._started = clock()
        self._host = socket.gethostname()
        self._pid = os.getpid()

    def info(self, runs: Iterable[Run]) -> WorkerInfo:
        """This worker as the registry shows it, with ``runs`` running now."""
        return WorkerInfo(
            id=self._id,
            host=self._host,
            pid=self._pid,
            started_at=self._started,
            heartbeat_at=self._clock(),
            heartbeat_interval=self._options.heartbeat_interval,
            task_types=self._types,
            # One queue until the scheduling work brings more: then the worker's own.
            queues=(DEFAULT_QUEUE,),
            concurrency=self._options.concurrency,
            running=tuple(_running(run) for run in runs if run.live and run.child is not None),
        )

    async def beat(self, runs: Iterable[Run]) -> None:
        """Write the row now (and forget rows silent for longer than the retention)."""
        info = self.info(runs)
        await self._store.heartbeat(info, info.heartbeat_at - self._options.worker_retention)

    async def beat_forever_step(self, runs: Callable[[], Iterable[Run]]) -> None:
        """One step of the heartbeat loop: sleep an interval, then beat."""
        await asyncio.sleep(self._options.heartbeat_interval)
        await self.beat(runs())

    async def deregister(self) -> None:
        """Mark the worker stopped (best effort: a failure is logged, and the row then
        ages into "dead" instead)."""
        try:
            await self._store.deregister(self._id, self._clock())
        except Exception:
            log.warning("worker %s could not deregister", self._id, exc_info=True)


def _running(run: Run) -> RunningAttempt:
    task = run.task
    started = task.last_run_at.timestamp() if task.last_run_at else 0.0
    return RunningAttempt(task.id, task.attempts, task.org_id, task.name, started)
