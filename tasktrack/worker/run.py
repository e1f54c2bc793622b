"""One attempt of one task, from claim to settle: the run object.

The end-of-run rule, kept in this one class: once :meth:`Run.end` has run (the handler is
over), the child belongs to the pool again and may already run another task, so nothing may
signal or kill it on this run's behalf. Events after the end change only what is written
(a cancel request turns a retry into ``cancelled``; a lost lease is left to the fenced write).

A run may begin *in hand* (claimed ahead, :mod:`tasktrack.worker.prefetch`): it waits for an
idle child first. A cancel request, a lost lease or shutdown ends the wait without running
the handler; so does waiting longer than :data:`~tasktrack.worker.prefetch.HOLD_LIMIT`, which
gives the task back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.errors import LeaseLost
from tasktrack.metrics import ATTEMPT_DURATION, ATTEMPTS, RUNNING
from tasktrack.observability import tracing
from tasktrack.service.registry import TaskType
from tasktrack.storage.base import TaskStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.pool import ChildPool
from tasktrack.worker.prefetch import HOLD_LIMIT
from tasktrack.worker.process import Job, Outcome, Slot
from tasktrack.worker.settle import settle
from tasktrack.worker.supervise import persist
from tasktrack.worker.task_log import TaskLogger, TaskLogWriter

log = logging.getLogger("tasktrack.worker")


@dataclass(frozen=True)
class RunContext:
    """What every run of one worker shares."""

    store: TaskStore
    options: WorkerOptions
    clock: Callable[[], float]
    #: Where a run gets its child.
    pool: ChildPool
    #: Called once when a run ends, to hand its child back to the pool.
    on_end: Callable[[Run], None]


class Run:
    """One attempt: a claimed task on a child process.

    Owns all that can happen to the attempt: progress (coalesced writes), a cancel request
    (ask the handler, kill it after the grace period), the loss of its lease (told by the
    heartbeat or a fenced write, or the lease running out while renewals fail), release at
    shutdown, and its end and settle write.
    """

    def __init__(self, task: Task, task_type: TaskType, ctx: RunContext, leased_at: float) -> None:
        """``leased_at``: the event loop's time just before the claim that took the lease."""
        self.task = task
        self.task_type = task_type
        #: The child running the handler; None while the run waits in hand.
        self.child: Slot | None = None
        #: Monotonic time the handler started on its child; None: it never started.
        self.started_at: float | None = None
        self._ctx = ctx
        #: The wait for a child must end (cancel, lost lease, shutdown), or never begin.
        self.stop_waiting = False
        self._waiter: asyncio.Future[Slot | None] | None = None
        self.cancelling = False
        #: The attempt no longer owns the task: its outcome is not written.
        self.lost = False
        #: Stopped at shutdown: the task is given back rather than settled.
        self.released = False
        #: Waited in hand for a child longer than ``HOLD_LIMIT``: given back unstarted.
        self.held_out = False
        #: The handler ran past its task type's timeout and was killed.
        self._timed_out = False
        self.done = asyncio.Event()
        self._progress: tuple[int, int] | None = None
        self._last_write = 0.0
        self._writer: asyncio.Task[None] | None = None
        self._kill_timer: asyncio.TimerHandle | None = None
        self._lease_timer: asyncio.TimerHandle | None = None
        self._lease_deadline = leased_at + ctx.options.lease_seconds
        #: The handler's log lines, on their way to the store (and the worker's stderr).
        self.task_log = TaskLogWriter(
            ctx.store, task.id, task.name, task.attempts, ctx.options.progress_interval
        )
        #: The worker's own lines about this attempt, prefixed with the task id and attempt.
        self.log = TaskLogger(log, task.id, task.attempts)

    @property
    def live(self) -> bool:
        """The handler has not ended yet."""
        return not self.done.is_set()

    # -- the attempt's course ---------------------------------------------------------------

    async def execute(self) -> None:
        """Run the handler, then settle, release or drop its outcome. Never raises.

        With tracing on, all of it is one span joining the creating request's trace."""
        t = self.task
        with tracing.attempt_span(t.id, t.name, t.attempts, await self._stored_trace()) as note:
            await self._execute(note)

    async def _stored_trace(self) -> tuple[str, str] | None:
        """The creating request's trace context (read only when tracing is on)."""
        if not tracing.enabled():
            return None
        try:
            return await self._ctx.store.trace_context(self.task.id)
        except Exception:  # a span without its parent beats an attempt not run
            self.log.warning("could not read its trace context", exc_info=True)
            return None

    async def _execute(self, note: tracing.Outcome) -> None:
        try:
            within = self._ctx.options.lease_seconds
            if not await self._take_child():
                self.end()
                note("not started", "")
                await persist(self._conclude_unstarted, "giving it back", within, self.log)
                return
            outcome = await self._run_child()
            # Hand the child to the next task *before* the settle write, so that write and
            # the next claim can share one commit.
            self.end()
            self._count(outcome, self.ran_for() or 0.0)
            note("lost" if self.lost else outcome.kind, outcome.message)
            await self.task_log.flush()
            await persist(lambda: self._conclude(outcome), "writing its outcome", within, self.log)
        except Exception:
            self.log.exception("settling failed; its lease will expire and it will be recovered")
        finally:
            if self._writer is not None:
                self._writer.cancel()
            self.task_log.cancel()
            self.end()

    async def _take_child(self) -> bool:
        """Wait (in hand) for an idle child; False if the run must not start: a cancel
        request, a lost lease or shutdown came first, or the wait passed ``HOLD_LIMIT``."""
        if not self.stop_waiting:
            # One future, resolved by whichever comes first: the pool (a child), the news
            # (None, :meth:`_stop_wait`) or the timer (None, held out). No task per wait.
            waiter = self._waiter = self._ctx.pool.request()
            timer = None
            if not waiter.done():
                timer = asyncio.get_running_loop().call_later(HOLD_LIMIT, self._held_out)
            try:
                self.child = await waiter  # cancelled with the run: the pool skips it
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        if self.child is None or self.cancelling or self.lost or self.released:
            return False  # a child taken goes back at end()
        self.started_at = time.monotonic()
        RUNNING.inc()
        return True

    def _held_out(self) -> None:
        # Waited HOLD_LIMIT: the children are busy with long work; give the task back.
        if self._waiter is not None and not self._waiter.done():
            self.held_out = True
            self._waiter.set_result(None)

    def _stop_wait(self) -> None:
        self.stop_waiting = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def ran_for(self) -> float | None:
        """Seconds the handler has held its child (None: it never started)."""
        return None if self.started_at is None else time.monotonic() - self.started_at

    def end(self) -> None:
        """The handler is over (acts once): timers stop, the gauge drops, the child goes back."""
        if self.done.is_set():
            return
        self.done.set()
        if self.started_at is not None:
            RUNNING.dec()
        for timer in (self._kill_timer, self._lease_timer):
            if timer is not None:
                timer.cancel()
        self._ctx.on_end(self)

    async def _run_child(self) -> Outcome:
        assert self.child is not None
        t = self.task
        job = Job(t.id, t.name, t.attempts, t.current_step, t.total_step, t.data)
        logs = self.task_log.add if self.child.echo_logs else self.task_log.keep
        result = self.child.begin(job, self.on_progress, logs)
        self.observe(t.status)
        timeout = self.task_type.timeout
        # A timer rather than a task and ``asyncio.wait`` per attempt (event-loop CPU).
        timer = None
        if timeout is not None:
            timer = asyncio.get_running_loop().call_later(timeout, self._time_out, result)
        try:
            outcome = await result
        finally:
            if timer is not None:
                timer.cancel()
        if self._timed_out:
            return Outcome("timeout", f"timed out after {timeout:g}s")
        if outcome.kind == "killed" and self.cancelling:
            return Outcome("cancelled", "stopped after the cancel grace period")
        return outcome

    def _time_out(self, result: asyncio.Future[Outcome]) -> None:
        if not result.done() and self.child is not None:
            self._timed_out = True
            self.child.kill()  # its outcome becomes "killed"; reported as the timeout

    def _count(self, outcome: Outcome, seconds: float) -> None:
        ATTEMPT_DURATION.labels(self.task.name).observe(seconds)
        ATTEMPTS.labels(self.task.name, "lost" if self.lost else outcome.kind).inc()

    async def _conclude(self, outcome: Outcome) -> None:
        if self.lost:
            return
        if self.released:
            await self._give_back_task()
            return
        await self.flush_progress()
        store, clock = self._ctx.store, self._ctx.clock
        await settle(store, self.task, self.task_type, outcome, self.cancelling, clock())

    async def _conclude_unstarted(self) -> None:
        """The handler never ran: a cancel request cancels the task; otherwise (shutdown, or
        held past ``HOLD_LIMIT``) it goes back to the queue, its attempt unspent."""
        if self.lost:
            return
        if self.cancelling and not self.released:
            outcome = Outcome("cancelled", "cancelled before it started")
            store, clock = self._ctx.store, self._ctx.clock
            await settle(store, self.task, self.task_type, outcome, True, clock())
            return
        await self._give_back_task("at shutdown" if self.released else "after waiting in hand")

    async def _give_back_task(self, why: str = "at shutdown") -> None:
        with contextlib.suppress(LeaseLost):
            await self._ctx.store.release(self.task.id, self.task.attempts, self._ctx.clock())
            self.log.info("requeued %s", why)

    # -- what the store tells us --------------------------------------------------------------

    def observe(self, status: Status | None) -> None:
        """A status read for this task (claim, heartbeat, watch, progress write): the one
        place a cancel request is noticed."""
        if status is Status.CANCELLING:
            self._cancel()

    def renewing(self, at: float) -> None:
        """A renewal begins at loop time ``at``. Unless one succeeds first, stop the handler
        when the lease runs out. (A lease already past at ``at`` means this worker was frozen,
        not failing: the renewal's answer or the fenced writes tell whether it was lost.)"""
        if self.live and self._lease_timer is None and self._lease_deadline > at:
            loop = asyncio.get_running_loop()
            self._lease_timer = loop.call_at(self._lease_deadline, self._lease_ran_out)

    def heartbeat(self, status: Status | None, at: float) -> None:
        """The answer to a renewal begun at loop time ``at``; None: the lease is gone."""
        if status is None:
            self.lose()
            return
        self._lease_deadline = at + self._ctx.options.lease_seconds
        if self._lease_timer is not None:
            self._lease_timer.cancel()
            self._lease_timer = None
        self.observe(status)

    def lose(self) -> None:
        """Another attempt owns the task now: stop the handler, write nothing."""
        if not self.live:  # ended already: only its outcome is void, the child is not ours
            self.lost = True
            return
        if not self.lost:
            self.log.warning("lost its lease; stopping it")
            self.lost = True
            self._halt()

    def _lease_ran_out(self) -> None:
        # Renewals failed for a whole lease: any reaper may hand the task to another worker
        # now, so stop this attempt rather than run it twice. No outcome is written; the
        # reaper recovers the task.
        if not self.live or self.lost:
            return
        self.log.warning(
            "its lease was not renewed for %.1fs; stopping it "
            "(no outcome written; the task will be recovered when its lease is reaped)",
            self._ctx.options.lease_seconds,
        )
        self.lost = True
        self._halt()

    def _halt(self) -> None:
        """Stop the handler: kill its child, or end the wait for one."""
        if self.child is None:
            self._stop_wait()
        else:
            self.child.kill()

    # -- cancel and shutdown ------------------------------------------------------------------

    def _cancel(self) -> None:
        self.cancelling = True
        if not self.live:  # the handler already ended; its child may run another task
            return
        if self.child is None:  # in hand: it never starts
            self._stop_wait()
            return
        self.child.cancel(self.task.id)  # re-sent on every check: the child may not have begun
        if self._kill_timer is None:
            grace = self._ctx.options.cancel_grace
            self._kill_timer = asyncio.get_running_loop().call_later(grace, self._grace_over)

    def _grace_over(self) -> None:
        if self.live:
            self.log.warning(
                "ignored its cancel request for %.0fs; stopping it", self._ctx.options.cancel_grace
            )
            self._halt()

    def release(self) -> None:
        """Shutdown: stop the handler now and give the task back; a run that has ended
        keeps its outcome."""
        if self.live:
            self.released = True
            self._halt()

    # -- progress --------------------------------------------------------------------------

    def on_progress(self, current: int, total: int) -> None:
        """Progress from the child; written at most once per ``progress_interval``."""
        self._progress = (current, total)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_progress_soon())

    async def _write_progress_soon(self) -> None:
        wait = self._last_write + self._ctx.options.progress_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # coalesce: a tight loop becomes one write per interval
        try:
            await self.flush_progress()
        except Exception:  # a later write carries the newer progress
            self.log.warning("progress write failed", exc_info=True)

    async def flush_progress(self) -> None:
        """Write progress not yet written."""
        if self._progress is None or self.lost:
            return
        current, total = self._progress
        self._progress = None
        self._last_write = time.monotonic()
        try:
            status = await self._ctx.store.record_progress(
                self.task.id, self.task.attempts, current, total, self._ctx.clock()
            )
        except LeaseLost:
            self.lose()
            return
        self.observe(status)
