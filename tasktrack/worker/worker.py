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

This module claims (ahead of its free children: :mod:`~tasktrack.worker.prefetch`) and
drains; :mod:`~tasktrack.worker.run` owns each attempt,
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
from collections.abc import Callable, Sequence

from tasktrack.domain.ids import new_id
from tasktrack.domain.task import Task
from tasktrack.observability import context
from tasktrack.service.health import Probe, heartbeat_probe
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import OrgResolver
from tasktrack.storage.base import TaskStore
from tasktrack.storage.workers_base import WorkerStore
from tasktrack.worker.inline import inline_names
from tasktrack.worker.monitor import LOST_REASON, Monitor
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.periodic import start_scheduler
from tasktrack.worker.pool import ChildPool
from tasktrack.worker.prefetch import Prefetch
from tasktrack.worker.registration import Registration
from tasktrack.worker.run import Run, RunContext
from tasktrack.worker.stall import LoopWatch
from tasktrack.worker.supervise import Step, forever

__all__ = ["LOST_REASON", "Worker", "WorkerOptions"]

log = logging.getLogger("tasktrack.worker")

#: A claim loop silent this long is stuck (it claims every poll interval when idle, and its
#: back-off after errors is at most 5 s): the worker is then not ready.
CLAIM_LOOP_STALE = 10.0


class Worker:
    """Runs tasks of ``registry`` from ``store`` until :meth:`stop`."""

    def __init__(
        self,
        store: TaskStore,
        registry: TaskRegistry,
        options: WorkerOptions | None = None,
        clock: Callable[[], float] = time.time,
        worker_id: str | None = None,
        resolve_org: OrgResolver | None = None,
        loops: Sequence[tuple[str, Step]] = (),
        workers: WorkerStore | None = None,
    ) -> None:
        """``loops``: more supervised loops to run while the worker runs (named steps; the
        webhook deliverer is one)."""
        self.store = store
        self._loops = loops
        self.registry = registry
        self.options = options or WorkerOptions()
        self.clock = clock
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        # Raises ValueError for a queue no task type uses (the CLI prints it as one line).
        self._names, self._queues = registry.serving(self.options.queues)
        if self.options.in_process:
            self._names = inline_names(registry, self._names)
        #: Caps of the limited types (issue 14); empty keeps every claim a plain one.
        self._limits = registry.limits()
        self._runs: dict[str, Run] = {}
        self._pool = ChildPool(self.options, registry)
        opts = self.options
        self._prefetch = Prefetch(opts.concurrency, opts.prefetch, opts.prefetch_seconds)
        #: Set when a run ends: the claim loop may have room again.
        self._room = asyncio.Event()
        self._monitor = Monitor(store, self.options, clock, self.id, self._runs)
        self._run_context = RunContext(store, self.options, clock, self._pool, self._on_run_end)
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._executions: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()
        #: Periodic schedules' organisations by id or name (default: by id only).
        self.resolve_org = resolve_org
        #: Event-loop time the claim loop last completed a claim (None: not yet).
        self._claimed_at: float | None = None
        # The worker registry (None: unregistered, as in tests that run bare workers).
        self._registration = (
            None
            if workers is None
            else Registration(workers, self.options, clock, self.id, self._names)
        )

    def stop(self, force: bool = False) -> None:
        """Stop claiming; running tasks get ``shutdown_timeout`` (none if ``force``)."""
        self._stop.set()
        if force:
            self._force.set()
            self._pool.closing = True

    def claim_loop_age(self) -> float | None:
        """Seconds since the claim loop last completed a claim (its heartbeat, for
        readiness): 0 while the worker has all the work it can hold, as the loop then
        rightly waits; None before the first claim."""
        if self._claimed_at is None:
            return None
        if not self._prefetch.room(self._outstanding()) and not self._stop.is_set():
            return 0.0
        return asyncio.get_running_loop().time() - self._claimed_at

    def readiness_probe(self) -> Probe:
        """The readiness check of the claim loop: it claimed within ``CLAIM_LOOP_STALE``
        seconds (or 4 poll intervals, if longer), or every child is busy."""
        limit = max(CLAIM_LOOP_STALE, 4 * self.options.poll_interval)
        return heartbeat_probe("claim loop", self.claim_loop_age, limit)

    async def run(self) -> None:
        """Claim and run tasks until :meth:`stop`, then drain."""
        # Every line the worker (and each attempt) logs carries its id.
        context.worker_id.set(self.id)
        await self._pool.start()
        # In process, a handler that blocks the loop stalls everything: say so when it does.
        watch = LoopWatch() if self.options.in_process else None
        if watch is not None:
            watch.start()
        log.info(
            "worker %s ready: %d %s, queues %s, task types %s",
            self.id,
            len(self._pool),
            "in-process slots" if self.options.in_process else "processes",
            ", ".join(self._queues),
            ", ".join(self._names),
        )
        loops = self._monitor.start() + await self._register()
        self.started.set()
        loops += start_scheduler(
            self.store, self.registry, self.options, self.clock, self.resolve_org
        )
        loops += [asyncio.create_task(forever(name, step)) for name, step in self._loops]
        claimer = asyncio.create_task(forever("claim loop", self._claim))
        try:
            await self._stop.wait()
        finally:
            await _cancel([claimer])
            await self._drain()
            await _cancel(loops)
            await self._pool.stop()
            if self._registration is not None:
                await self._registration.deregister()
            if watch is not None:
                watch.stop()
            log.info("worker %s stopped", self.id)

    async def _register(self) -> list[asyncio.Task[None]]:
        """Register before claiming (so a task created once the worker is ready does not warn
        that nobody serves it); then the heartbeat loop."""
        registration = self._registration
        if registration is None:
            return []
        try:
            await registration.beat(self._runs.values())
        except Exception:  # the loop below retries; the worker can run tasks regardless
            log.warning("worker %s could not register", self.id, exc_info=True)

        async def step() -> None:
            await registration.beat_forever_step(lambda: list(self._runs.values()))

        return [asyncio.create_task(forever("registry heartbeat", step))]

    # -- claiming ----------------------------------------------------------------------------

    async def _claim(self) -> None:
        """One claim for the free room: idle children and the claim-ahead target (after
        waiting for a batch's worth of room)."""
        while not (room := self._prefetch.room(self._outstanding())):
            self._room.clear()
            await self._room.wait()
        leased_at = asyncio.get_running_loop().time()
        tasks = await self.store.claim(
            self.id,
            self._names,
            room,
            self.options.lease_seconds,
            self.clock(),
            self._queues,
            self._limits,
        )
        self._claimed_at = asyncio.get_running_loop().time()
        for task in tasks:
            self._start(task, leased_at)
        if not tasks:
            # Push-capable stores (PostgreSQL) end this early when work arrives.
            await self.store.wait_queued(await self._idle_wait())

    async def _idle_wait(self) -> float:
        """How long an idle claim loop may wait: until the next task falls due (a delayed
        task, a retry's back-off), at most ``poll_interval``. A timer, not a tighter poll:
        the due time is read once per idle wait (one index probe)."""
        now = self.clock()
        due = await self.store.next_due(now)
        if due is None:
            return self.options.poll_interval
        # A millisecond past the due time, so the claim that follows finds it due.
        return min(self.options.poll_interval, max(due - now, 0.0) + 0.001)

    def _start(self, task: Task, leased_at: float) -> None:
        task_type = self.registry.get(task.name)
        run = Run(task, task_type, self._run_context, leased_at)
        self._runs[task.id] = run
        self._monitor.run_started()
        execution = asyncio.create_task(self._execute(run))
        self._executions.add(execution)
        execution.add_done_callback(self._executions.discard)

    async def _execute(self, run: Run) -> None:
        try:
            with context.bound(task_id=run.task.id, attempt=run.task.attempts):
                await run.execute()
        finally:
            # Only this run's entry: a task given back from the hand may already be claimed
            # again by this worker, under a new run that must stay watched and renewed.
            if self._runs.get(run.task.id) is run:
                del self._runs[run.task.id]

    def _outstanding(self) -> int:
        """Runs whose handler has not ended: running, or in hand waiting for a child."""
        return sum(run.live for run in self._runs.values())

    def _on_run_end(self, run: Run) -> None:
        self._room.set()
        if run.held_out:
            self._prefetch.stall()
        ran_for = run.ran_for()
        if ran_for is not None:
            self._prefetch.observe(ran_for)
        if run.child is not None:
            self._pool.give_back(run.child)

    # -- shutdown ----------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Give back the tasks in hand; let running tasks finish until the deadline, then
        requeue what is left."""
        for run in list(self._runs.values()):
            if run.child is None:
                run.release()
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
