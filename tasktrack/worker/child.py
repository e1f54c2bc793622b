"""The child process that runs handlers, one task at a time.

Handlers run in a child process, not a thread, so that a handler that ignores a cancel
request, or burns CPU past its timeout, can really be stopped: the worker kills the child
and starts a fresh one. A child is reused from task to task, so the cost of starting a
process is paid once, not per task (as Celery's prefork pool does).

Wire protocol (pickled tuples over a multiprocessing Pipe):

* parent → child: ``("run", task_id, name, attempt, current, total, data)``,
  ``("cancel", task_id)``, ``("exit",)``
* child → parent: ``("ready",)``, ``("progress", task_id, current, total)``,
  ``("logs", task_id, lines, dropped)`` (``lines``: ``LogEntry`` tuples; ``dropped``: lines the
  child's buffer had to drop before them), ``("result", task_id, kind, message, value)``
  with kind ``done``, ``error`` or ``cancelled``; ``value`` is the handler's return value
  as compact JSON text for ``done`` (None when it returned None), else None. A task's
  last ``logs`` comes before its ``result``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from tasktrack.observability.logs import configure_logging
from tasktrack.worker.capture import Capture
from tasktrack.worker.context import TaskCancelled, TaskContext
from tasktrack.worker.result import ResultRefused, encode_result

log = logging.getLogger("tasktrack.worker.child")

#: How often pending progress is pushed to the parent while a handler runs.
FLUSH_INTERVAL = 0.05
MAX_REASON = 2000


def child_main(
    conn: Connection, app_modules: tuple[str, ...], demo: bool, log_level: str, log_format: str
) -> None:
    """Entry point of a child process (spawned, so it imports the registry itself)."""
    # The worker decides when children stop; a Ctrl-C or SIGTERM sent to the whole process
    # group must not kill handlers behind the worker's back.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The worker's format: what the child logs outside a task's capture (an app module's
    # import-time lines, a warning) reads like the worker's own lines.
    configure_logging(log_format, log_level)
    from tasktrack.loader import load_registry

    registry = load_registry(app_modules, demo=demo)
    Runner(conn, registry).serve()


def reason_text(message: str) -> str:
    """An exception message fit to store as ``failReason``: bounded, and without NUL, which
    PostgreSQL text cannot hold (written as the visible escape ``\\x00`` instead)."""
    return message[:MAX_REASON].replace("\x00", "\\x00")


def outcome_of(call: Callable[[], Any], ctx: TaskContext) -> tuple[str, str, str | None]:
    """``(kind, message, result JSON)`` of an attempt whose handler ``call()`` runs (or, in
    process, returns the finished coroutine's result): one rule for both ways of running."""
    try:
        return "done", "", encode_result(call())
    except (TaskCancelled, asyncio.CancelledError):
        if ctx.cancelled:
            return "cancelled", "", None
        return "error", "handler was cancelled", None
    except ResultRefused as exc:
        # The handler ran, but what it returned cannot be kept: an error like any other
        # (retried while attempts remain), with the reason saying why.
        ctx.logger.error("attempt %d: %s", ctx.attempt, exc.reason)
        return "error", exc.reason, None
    except Exception as exc:
        # The traceback goes to the task's log (and the worker's stderr); failReason gets
        # only the message.
        ctx.logger.error("attempt %d failed", ctx.attempt, exc_info=exc)
        return "error", str(exc) or type(exc).__name__, None


class Runner:
    def __init__(self, conn: Connection, registry: Any) -> None:
        self.conn = conn
        self.registry = registry
        self.send_lock = threading.Lock()
        self.jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.ctx: TaskContext | None = None
        self.loop = asyncio.new_event_loop()
        self.async_task: asyncio.Task[Any] | None = None
        self.capture: Capture | None = None
        #: Taking a batch and sending it is one step, so batches (and the result) keep order.
        self.log_lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(message)

    def serve(self) -> None:
        threading.Thread(target=self._read, name="tasktrack-child-reader", daemon=True).start()
        self.send(("ready",))
        while (job := self.jobs.get()) is not None:
            _, task_id, name, attempt, current, total, data = job
            kind, message, value = self._run(task_id, name, attempt, current, total, data)
            self.send(("result", task_id, kind, reason_text(message), value))

    def _read(self) -> None:
        """Receive messages; between them, push coalesced progress to the parent."""
        try:
            while True:
                if not self.conn.poll(FLUSH_INTERVAL):
                    ctx = self.ctx
                    if ctx is not None:
                        ctx.flush()
                    self.send_logs()
                    continue
                message = self.conn.recv()
                if message[0] == "run":
                    self.jobs.put(message)
                elif message[0] == "cancel":
                    self._cancel(message[1])
                elif message[0] == "exit":
                    break
        except (EOFError, OSError):
            # The worker died (e.g. SIGKILL): nobody can receive this task's outcome and its
            # lease will be recovered, so stop now rather than run on as an orphan.
            os._exit(0)
        self.jobs.put(None)

    def _cancel(self, task_id: str) -> None:
        ctx = self.ctx
        if ctx is None or ctx.task_id != task_id:
            return
        ctx._request_cancel()
        task = self.async_task
        if task is not None:
            # Async handlers are interrupted at their next await, as asyncio cancellation does.
            self.loop.call_soon_threadsafe(task.cancel)

    def _run(
        self, task_id: str, name: str, attempt: int, current: int, total: int, data: Any
    ) -> tuple[str, str, str | None]:
        ctx = TaskContext(
            task_id,
            name,
            attempt,
            current,
            total,
            lambda c, t: self.send(("progress", task_id, c, t)),
            flush_interval=FLUSH_INTERVAL,
        )
        self.ctx = ctx
        try:
            task_type = self.registry.get(name)
            self._capture(name, task_type.capture_output)
            return outcome_of(lambda: self._call(task_type.handler, data, ctx), ctx)
        finally:
            ctx.flush()
            self._end_capture()
            self.ctx = None
            self.async_task = None

    def _call(self, handler: Any, data: Any, ctx: TaskContext) -> Any:
        if inspect.iscoroutinefunction(handler):
            self.async_task = self.loop.create_task(handler(data, ctx))
            return self.loop.run_until_complete(self.async_task)
        return handler(data, ctx)

    # -- the task's log (see tasktrack.worker.capture) ----------------------------------------

    def _capture(self, name: str, output: bool) -> None:
        self.capture = Capture(f"tasktrack.task.{name}", output)
        self.capture.start()

    def _end_capture(self) -> None:
        capture = self.capture
        if capture is not None:
            capture.stop()
            while self.send_logs():
                pass
            self.capture = None

    def send_logs(self) -> bool:
        """Send a batch of the running task's waiting lines; False when none were waiting."""
        capture, ctx = self.capture, self.ctx
        if capture is None or ctx is None:
            return False
        with self.log_lock:
            lines, dropped = capture.buffer.take()
            if lines or dropped:
                self.send(("logs", ctx.task_id, [tuple(line) for line in lines], dropped))
        return bool(lines)
