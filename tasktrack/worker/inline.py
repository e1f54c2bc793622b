"""Async handlers in the worker's own event loop: opt-in (``TASKTRACK_IN_PROCESS=1``).

Why: a child process costs, per task, a pipe write that wakes it, pickling both ways and the
child's own CPU (profiled on PostgreSQL: the pipe write alone was ~9 % of the worker's event
loop, the children a third of all CPU); pgqueuer and saq run async jobs in their event loop.

The price, and why it is opt-in: an in-process handler can only be stopped at an ``await``
(asyncio cancellation). One that blocks the loop (CPU work, a sync call) stalls the whole
worker, its lease renewals included, and neither its timeout nor a cancel can kill it. So
only ``async def`` handlers run this way, and a worker in this mode serves only those types
(:func:`inline_names`); sync ones are left to ordinary workers.

:class:`InlineSlot` has the interface :class:`~tasktrack.worker.run.Run` and
:class:`~tasktrack.worker.pool.ChildPool` use of a child process, so the run's course
(cancel, grace, timeout, lease, shutdown) is the same code either way.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from tasktrack.domain.logs import LogEntry
from tasktrack.service.registry import TaskRegistry
from tasktrack.worker.child import outcome_of, reason_text
from tasktrack.worker.context import TaskContext
from tasktrack.worker.process import Job, LogsCallback, Outcome, ProgressCallback

log = logging.getLogger("tasktrack.worker")


def inline_names(registry: TaskRegistry, names: list[str]) -> list[str]:
    """The types of ``names`` an in-process worker runs: async handlers, and not
    ``capture_output`` (standard output is the whole process's, not one task's). Raises
    ValueError when that leaves none (a worker that would silently run nothing)."""
    out: list[str] = []
    left: list[str] = []
    for name in names:
        task_type = registry.get(name)
        runs_here = inspect.iscoroutinefunction(task_type.handler)
        (out if runs_here and not task_type.capture_output else left).append(name)
    if not out:
        raise ValueError(
            "TASKTRACK_IN_PROCESS=1 runs only async handlers without capture_output; "
            f"none of this worker's task types is one ({', '.join(names) or 'none'})"
        )
    if left:
        log.info("in-process worker: leaving %s to other workers", ", ".join(left))
    return out


class _Lines(logging.Handler):
    """On ``tasktrack.task``: the lines a running in-process handler logs through
    ``ctx.logger`` (they carry its task id) go to that task's log too. The record goes on to
    the worker's own handlers as any other line, so it is printed once."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(message)s"))
        #: Running in-process tasks: task id -> where their lines go.
        self.sinks: dict[str, LogsCallback] = {}

    def emit(self, record: logging.LogRecord) -> None:
        sink = self.sinks.get(getattr(record, "task_id", ""))
        if sink is None:
            return
        try:
            sink([LogEntry(record.created, record.levelname, self.format(record))], 0)
        except Exception:
            self.handleError(record)


_LINES = _Lines()


class InlineSlot:
    """One place to run an async handler in the worker's loop (``concurrency`` of them)."""

    #: The task's lines reach the worker's log by themselves (see :class:`_Lines`): the run
    #: stores them without echoing them again.
    echo_logs = False

    def __init__(self, registry: TaskRegistry, log_level: str = "INFO") -> None:
        self._registry = registry
        # As in a child (configured with the worker's level): a handler's INFO lines are
        # its task's log even if the embedding application logs only warnings.
        task_logs = logging.getLogger("tasktrack.task")
        task_logs.setLevel(log_level.upper())
        if _LINES not in task_logs.handlers:  # installed by the first slot, not at import
            task_logs.addHandler(_LINES)
        self._task: asyncio.Task[Any] | None = None
        self._ctx: TaskContext | None = None
        self._result: asyncio.Future[Outcome] | None = None

    @property
    def busy(self) -> bool:
        return self._result is not None

    @property
    def alive(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self.kill()

    def begin(
        self, job: Job, on_progress: ProgressCallback, on_logs: LogsCallback | None = None
    ) -> asyncio.Future[Outcome]:
        if self.busy:
            raise RuntimeError("slot is not idle")
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Outcome] = loop.create_future()
        # Progress goes straight to the run, which coalesces its writes itself.
        j = job
        ctx = TaskContext(
            j.task_id, j.name, j.attempt, j.current, j.total, on_progress, flush_interval=0
        )
        handler = self._registry.get(j.name).handler
        self._ctx, self._result = ctx, result
        if on_logs is not None:
            _LINES.sinks[j.task_id] = on_logs
        self._task = loop.create_task(handler(j.data, ctx))
        self._task.add_done_callback(lambda task: self._ended(task, ctx, result))
        return result

    def _ended(
        self, task: asyncio.Task[Any], ctx: TaskContext, result: asyncio.Future[Outcome]
    ) -> None:
        if result.done():  # killed: its outcome was given then, and nothing more is said
            return
        ctx.flush()
        outcome = _outcome(task, ctx)  # may log the failure: still the task's line
        _LINES.sinks.pop(ctx.task_id, None)
        self._task = self._ctx = self._result = None
        result.set_result(outcome)

    def cancel(self, task_id: str) -> None:
        """Ask the handler to stop: ``ctx.cancelled``, and a cancel at its next await."""
        ctx, task = self._ctx, self._task
        if ctx is not None and task is not None and ctx.task_id == task_id:
            ctx._request_cancel()
            task.cancel()

    def kill(self) -> None:
        """Stop now, as far as asyncio can: the outcome is ``killed`` at once; the handler is
        cancelled and, if it ignores that, runs on unobserved (the price of this mode)."""
        task, result, ctx = self._task, self._result, self._ctx
        self._task = self._ctx = self._result = None
        if ctx is not None:
            _LINES.sinks.pop(ctx.task_id, None)
        if task is not None:
            task.cancel()
        if result is not None and not result.done():
            result.set_result(Outcome("killed", "stopped by the worker"))


def _outcome(task: asyncio.Task[Any], ctx: TaskContext) -> Outcome:
    """The finished handler's outcome, by the child's own rule (``task.result()`` raises
    what the handler raised, or ``CancelledError`` if it was cancelled)."""
    kind, message, value = outcome_of(task.result, ctx)
    return Outcome(kind, reason_text(message), value)
