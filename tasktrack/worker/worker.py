"""Worker: claims tasks, runs them in child processes, and keeps the store truthful.

Safe to run many workers, in many processes and on many hosts, against one database:

* a claim is one atomic store write and returns an *attempt number*; every later write of
  that attempt is fenced on it, so a worker that lost its lease cannot overwrite the outcome
  of the worker that took over;
* leases are renewed every ``lease_seconds / 3`` while a handler runs, so a healthy slow task
  is never reclaimed;
* every worker also reaps: every ``reaper_interval`` it recovers tasks whose lease lapsed
  (their worker died). A dead worker's task is therefore back in play within
  ``lease_seconds + reaper_interval`` of its last heartbeat, with no leader and no job to wire.

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
from dataclasses import dataclass, field

from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.errors import LeaseLost, TaskTrackError
from tasktrack.metrics import ATTEMPT_DURATION, ATTEMPTS, RUNNING
from tasktrack.service.registry import TaskRegistry, TaskType
from tasktrack.storage.base import TaskStore
from tasktrack.worker.process import ChildProcess, Outcome
from tasktrack.worker.settle import settle

log = logging.getLogger("tasktrack.worker")

LOST_REASON = "worker lost: its lease expired without a heartbeat"


@dataclass(frozen=True)
class WorkerOptions:
    """Knobs of a worker (each also a ``tasktrack worker`` flag and environment variable)."""

    concurrency: int = 2
    #: How long a claim stays valid without a heartbeat.
    lease_seconds: float = 30.0
    #: Idle wait between claim attempts, and how often running tasks are checked for cancel.
    poll_interval: float = 0.5
    reaper_interval: float = 5.0
    #: How long a handler has to stop on its own after a cancel request before it is killed.
    cancel_grace: float = 10.0
    #: On shutdown, how long running tasks may finish before they are requeued.
    shutdown_timeout: float = 30.0
    #: Least time between two progress writes of one task.
    progress_interval: float = 0.25
    app_modules: tuple[str, ...] = ()
    demo: bool = True
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.lease_seconds <= 0 or self.poll_interval <= 0 or self.reaper_interval <= 0:
            raise ValueError("lease, poll and reaper intervals must be positive")


@dataclass
class _Running:
    task: Task
    task_type: TaskType
    child: ChildProcess
    cancelling: bool = False
    lost: bool = False
    released: bool = False
    progress: tuple[int, int] | None = None
    last_write: float = 0.0
    writer: asyncio.Task[None] | None = None
    kill_timer: asyncio.TimerHandle | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


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
        self._running: dict[str, _Running] = {}
        self._free: list[ChildProcess] = []
        self._children: list[ChildProcess] = []
        self._slot_free = asyncio.Event()
        self._runs_changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._executions: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()

    # -- public --------------------------------------------------------------------------

    def stop(self, force: bool = False) -> None:
        """Stop claiming; running tasks get ``shutdown_timeout`` (none if ``force``)."""
        self._stop.set()
        if force:
            self._force.set()

    async def run(self) -> None:
        opts = self.options
        self._children = [
            ChildProcess(opts.app_modules, opts.demo, opts.log_level)
            for _ in range(opts.concurrency)
        ]
        await asyncio.gather(*(c.start() for c in self._children))
        self._free = list(self._children)
        log.info(
            "worker %s ready: %d processes, task types %s",
            self.id,
            len(self._children),
            ", ".join(self._names),
        )
        self.started.set()
        loops = [
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._watch_loop()),
            asyncio.create_task(self._reaper_loop()),
        ]
        claimer = asyncio.create_task(self._claim_loop())
        try:
            await self._stop.wait()
        finally:
            claimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claimer
            await self._drain()
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await asyncio.gather(*(c.stop() for c in self._children), return_exceptions=True)
            log.info("worker %s stopped", self.id)

    # -- claiming and running ----------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stop.is_set():
            if not self._free:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                tasks = await self.store.claim(
                    self.id,
                    self._names,
                    len(self._free),
                    self.options.lease_seconds,
                    self.clock(),
                )
            except TaskTrackError as exc:
                log.error("claim failed: %s", exc)
                tasks = []
            for task in tasks:
                child = self._free.pop()
                execution = asyncio.create_task(self._execute(child, task))
                self._executions.add(execution)
                execution.add_done_callback(self._executions.discard)
            if not tasks:
                # Push-capable stores (PostgreSQL) end this early when work arrives.
                await self.store.wait_queued(self.options.poll_interval)

    async def _execute(self, child: ChildProcess, task: Task) -> None:
        task_type = self.registry.get(task.name)
        run = _Running(task, task_type, child, cancelling=task.status is Status.CANCELLING)
        self._running[task.id] = run
        self._runs_changed.set()
        RUNNING.inc()
        started = time.monotonic()
        try:
            outcome = await self._run_child(run)
            # The handler is over. Hand the child to the next task *before* the settle write,
            # so that write and the next claim can share one commit.
            self._end_run(run)
            ATTEMPT_DURATION.labels(task.name).observe(time.monotonic() - started)
            ATTEMPTS.labels(task.name, "lost" if run.lost else outcome.kind).inc()
            if run.lost:
                return
            if run.released:
                await self._release(run)
                return
            await self._flush_progress(run)
            await settle(self.store, task, task_type, outcome, run.cancelling, self.clock())
        except Exception:
            log.exception(
                "settling task %s failed; its lease will expire and it will be recovered", task.id
            )
        finally:
            if run.writer is not None:
                run.writer.cancel()
            self._running.pop(task.id, None)
            self._end_run(run)

    def _end_run(self, run: _Running) -> None:
        """The handler is over (once per run): the gauge drops, and the child goes back to the
        pool. From here on nothing may signal or kill the child on this run's behalf
        (``run.done`` guards that)."""
        if run.done.is_set():
            return
        run.done.set()
        RUNNING.dec()
        if run.kill_timer is not None:
            run.kill_timer.cancel()
        self._give_back(run.child)

    def _give_back(self, child: ChildProcess) -> None:
        if child.alive or self._force.is_set():
            self._free.append(child)
            self._slot_free.set()
        else:  # it was killed (timeout, cancel grace, lost lease): replace it off the hot path
            restart = asyncio.create_task(self._return_child(child))
            self._executions.add(restart)
            restart.add_done_callback(self._executions.discard)

    async def _run_child(self, run: _Running) -> Outcome:
        task = run.task
        running = asyncio.ensure_future(
            run.child.run(
                task.id,
                task.name,
                task.attempts,
                task.current_step,
                task.total_step,
                task.data,
                lambda c, t: self._on_progress(run, c, t),
            )
        )
        if run.cancelling:
            self._begin_cancel(run)
        timeout = run.task_type.timeout
        done, _ = await asyncio.wait({running}, timeout=timeout)
        if not done:
            run.child.kill()
            await running
            return Outcome("timeout", f"timed out after {timeout:g}s")
        outcome = running.result()
        if outcome.kind == "killed" and run.cancelling:
            return Outcome("cancelled", "stopped after the cancel grace period")
        return outcome

    async def _return_child(self, child: ChildProcess) -> None:
        while not child.alive and not self._force.is_set():
            try:
                await child.start()
            except Exception as exc:
                log.error("could not start a child process: %s; retrying", exc)
                await asyncio.sleep(1.0)
        self._free.append(child)
        self._slot_free.set()

    async def _release(self, run: _Running) -> None:
        with contextlib.suppress(LeaseLost):
            await self.store.release(run.task.id, run.task.attempts, self.clock())
            log.info("task %s requeued at shutdown", run.task.id)

    # -- progress --------------------------------------------------------------------------

    def _on_progress(self, run: _Running, current: int, total: int) -> None:
        run.progress = (current, total)
        if run.writer is None or run.writer.done():
            run.writer = asyncio.create_task(self._progress_writer(run))

    async def _progress_writer(self, run: _Running) -> None:
        wait = run.last_write + self.options.progress_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # coalesce: a tight loop becomes one write per interval
        await self._flush_progress(run)

    async def _flush_progress(self, run: _Running) -> None:
        if run.progress is None or run.lost:
            return
        current, total = run.progress
        run.progress = None
        run.last_write = time.monotonic()
        try:
            status = await self.store.record_progress(
                run.task.id, run.task.attempts, current, total, self.clock()
            )
        except LeaseLost:
            self._lose(run)
            return
        if status is Status.CANCELLING:
            self._begin_cancel(run)

    # -- cancellation, heartbeats, recovery -----------------------------------------------

    def _begin_cancel(self, run: _Running) -> None:
        if run.done.is_set():  # the handler already ended; its child may run another task
            run.cancelling = True
            return
        run.child.cancel(run.task.id)  # re-sent on every check: the child may not have begun
        if not run.cancelling or run.kill_timer is None:
            run.cancelling = True
            run.kill_timer = asyncio.get_running_loop().call_later(
                self.options.cancel_grace, self._force_stop, run
            )

    def _force_stop(self, run: _Running) -> None:
        if not run.done.is_set():
            log.warning(
                "task %s ignored its cancel request for %.0fs; stopping it",
                run.task.id,
                self.options.cancel_grace,
            )
            run.child.kill()

    def _lose(self, run: _Running) -> None:
        if run.done.is_set():  # ended already: only its outcome is void, the child is not ours
            run.lost = True
            return
        if not run.lost:
            log.warning(
                "task %s attempt %d lost its lease; stopping it", run.task.id, run.task.attempts
            )
            run.lost = True
            run.child.kill()

    async def _heartbeat_loop(self) -> None:
        interval = self.options.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            runs = list(self._running.values())
            if not runs:
                continue
            try:
                held = await self.store.renew_leases(
                    self.id,
                    [(r.task.id, r.task.attempts) for r in runs],
                    self.options.lease_seconds,
                    self.clock(),
                )
            except TaskTrackError as exc:
                log.error("heartbeat failed: %s", exc)
                continue
            for run in runs:
                if run.done.is_set():
                    continue
                status = held.get(run.task.id)
                if status is None:
                    self._lose(run)
                elif status is Status.CANCELLING:
                    self._begin_cancel(run)

    async def _watch_loop(self) -> None:
        """Notice cancel requests of running tasks: at once where the store pushes changes
        (PostgreSQL), else within ``poll_interval`` (a cheap read, not a write)."""
        while True:
            self._runs_changed.clear()
            runs = list(self._running.values())
            if not runs:
                await self._runs_changed.wait()
                continue
            changed = asyncio.ensure_future(
                self.store.wait_changed([r.task.id for r in runs], self.options.poll_interval)
            )
            started = asyncio.ensure_future(self._runs_changed.wait())
            done, _ = await asyncio.wait({changed, started}, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            started.cancel()
            if changed not in done:
                continue  # only a new task started: re-register with it included
            try:
                statuses = await self.store.statuses([r.task.id for r in runs])
            except TaskTrackError as exc:
                log.error("status check failed: %s", exc)
                continue
            for run in runs:
                if statuses.get(run.task.id) is Status.CANCELLING and not run.done.is_set():
                    self._begin_cancel(run)

    async def _reaper_loop(self) -> None:
        while True:
            try:
                for task in await self.store.expire_leases(self.clock(), LOST_REASON):
                    log.warning(
                        "recovered task %s from a lost worker: now %s", task.id, task.status.value
                    )
            except TaskTrackError as exc:
                log.error("reaper failed: %s", exc)
            await asyncio.sleep(self.options.reaper_interval)

    async def _drain(self) -> None:
        """Let running tasks finish until the deadline, then requeue what is left."""
        pending = set(self._executions)
        if pending and not self._force.is_set():
            log.info(
                "waiting up to %.0fs for %d running tasks",
                self.options.shutdown_timeout,
                len(pending),
            )
            finished = asyncio.ensure_future(
                asyncio.wait(pending, timeout=self.options.shutdown_timeout)
            )
            forced = asyncio.ensure_future(self._force.wait())
            await asyncio.wait({finished, forced}, return_when=asyncio.FIRST_COMPLETED)
            finished.cancel()
            forced.cancel()
        self._force.set()  # children killed from here on are not restarted
        for run in list(self._running.values()):
            run.released = True
            run.child.kill()
        if self._executions:
            await asyncio.gather(*self._executions, return_exceptions=True)
