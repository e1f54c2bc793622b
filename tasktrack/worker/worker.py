"""Worker: claims tasks, runs them in child processes, and keeps the store truthful.

Safe to run many workers, in many processes and on many hosts, against one database:

* a claim is one atomic store write and returns an *attempt number*; every later write of
  that attempt is fenced on it, so a worker that lost its lease cannot overwrite the outcome
  of the worker that took over;
* leases are renewed every ``lease_seconds / 3`` while a handler runs, so a healthy slow task
  is never reclaimed; an attempt whose lease could not be renewed for a whole lease is
  stopped by the worker itself, so it never runs beside the attempt that replaces it;
* every worker also reaps: every ``reaper_interval`` it recovers tasks whose lease lapsed
  (their worker died). A dead worker's task is therefore back in play within
  ``lease_seconds + reaper_interval`` of its last heartbeat, with no leader and no job to wire.

This module claims and drains; :mod:`~tasktrack.worker.run` owns each attempt,
:mod:`~tasktrack.worker.monitor` the heartbeat, cancel watch and reaper, and
:mod:`~tasktrack.worker.supervise` keeps every loop alive through errors.

Don't run two Worker objects in one event loop sharing one ``worker_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable

from tasktrack.domain.ids import new_id
from tasktrack.domain.task import Task
from tasktrack.service.registry import TaskRegistry
from tasktrack.storage.base import TaskStore
from tasktrack.worker.monitor import LOST_REASON, Monitor
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.pool import ChildPool
from tasktrack.worker.run import Run, RunContext
from tasktrack.worker.supervise import forever

__all__ = ["LOST_REASON", "Worker", "WorkerOptions"]

log = logging.getLogger("tasktrack.worker")


class Worker:
    """Runs tasks of ``registry`` from ``store`` until :meth:`stop`."""

    def __init__(
        self,
        store: TaskStore,
        registry: TaskRegistry,
        options: WorkerOptions | None = None,
        clock: Callable[[], float] = time.time,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.options = options or WorkerOptions()
        self.clock = clock
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self._names = registry.names()
        #: Caps of the limited types (issue 14); empty keeps every claim a plain one.
        self._limits = registry.limits()
        self._runs: dict[str, Run] = {}
        self._pool = ChildPool(self.options)
        self._monitor = Monitor(store, self.options, clock, self.id, self._runs)
        self._run_context = RunContext(store, self.options, clock, self._on_run_end)
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._executions: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()

    def stop(self, force: bool = False) -> None:
        """Stop claiming; running tasks get ``shutdown_timeout`` (none if ``force``)."""
        self._stop.set()
        if force:
            self._force.set()
            self._pool.closing = True

    async def run(self) -> None:
        """Claim and run tasks until :meth:`stop`, then drain."""
        await self._pool.start()
        log.info(
            "worker %s ready: %d processes, task types %s",
            self.id,
            len(self._pool),
            ", ".join(self._names),
        )
        self.started.set()
        loops = self._monitor.start()
        claimer = asyncio.create_task(forever("claim loop", self._claim))
        try:
            await self._stop.wait()
        finally:
            await _cancel([claimer])
            await self._drain()
            await _cancel(loops)
            await self._pool.stop()
            log.info("worker %s stopped", self.id)

    # -- claiming ----------------------------------------------------------------------------

    async def _claim(self) -> None:
        """One claim for the idle children (after waiting for one to be idle)."""
        await self._pool.wait_idle()
        leased_at = asyncio.get_running_loop().time()
        tasks = await self.store.claim(
            self.id,
            self._names,
            self._pool.idle,
            self.options.lease_seconds,
            self.clock(),
            self._limits,
        )
        for task in tasks:
            self._start(task, leased_at)
        if not tasks:
            # Push-capable stores (PostgreSQL) end this early when work arrives.
            await self.store.wait_queued(self.options.poll_interval)

    def _start(self, task: Task, leased_at: float) -> None:
        task_type = self.registry.get(task.name)
        run = Run(task, task_type, self._pool.take(), self._run_context, leased_at)
        self._runs[task.id] = run
        self._monitor.run_started()
        execution = asyncio.create_task(self._execute(run))
        self._executions.add(execution)
        execution.add_done_callback(self._executions.discard)

    async def _execute(self, run: Run) -> None:
        try:
            await run.execute()
        finally:
            self._runs.pop(run.task.id, None)

    def _on_run_end(self, run: Run) -> None:
        self._pool.give_back(run.child)

    # -- shutdown ----------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Let running tasks finish until the deadline, then requeue what is left."""
        if self._executions and not self._force.is_set():
            await self._wait_running()
        self._pool.closing = True  # children killed from here on are not restarted
        for run in list(self._runs.values()):
            run.release()  # only runs still live: an ended run's outcome stands
        await asyncio.gather(*self._executions, return_exceptions=True)

    async def _wait_running(self) -> None:
        """Until the running tasks end, ``shutdown_timeout`` passes or a forced stop."""
        pending = set(self._executions)
        timeout = self.options.shutdown_timeout
        log.info("waiting up to %.0fs for %d running tasks", timeout, len(pending))
        finished = asyncio.ensure_future(asyncio.wait(pending, timeout=timeout))
        forced = asyncio.ensure_future(self._force.wait())
        await asyncio.wait({finished, forced}, return_when=asyncio.FIRST_COMPLETED)
        finished.cancel()
        forced.cancel()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)
