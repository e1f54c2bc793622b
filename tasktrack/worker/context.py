"""TaskContext: what a handler gets besides its ``data``.

A handler reports progress with :meth:`TaskContext.step` / :meth:`TaskContext.set_progress`
and honours cancellation through :attr:`TaskContext.cancelled` or
:meth:`TaskContext.raise_if_cancelled`. Progress is coalesced here (at most one message per
``flush_interval``) so a tight loop calling ``step()`` does not hammer the worker or the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class TaskCancelled(Exception):
    """Raised by :meth:`TaskContext.raise_if_cancelled`: the task was asked to stop."""


ProgressSink = Callable[[int, int], None]


class TaskContext:
    """Handed to every handler. Thread-safe: a sync handler may step from helper threads.

    Attributes:
        task_id: the task's ``_id``.
        name: the task type.
        attempt: 1 for the first run, 2 for the first retry, and so on.
        logger: a logger named ``tasktrack.task.<name>`` carrying the task id; its lines are
            stored in the task's log (``GET /tasks/{id}/logs``) with level and time.
    """

    def __init__(
        self,
        task_id: str,
        name: str,
        attempt: int,
        current_step: int,
        total_step: int,
        sink: ProgressSink,
        flush_interval: float = 0.05,
    ) -> None:
        self.task_id = task_id
        self.name = name
        self.attempt = attempt
        self.logger = logging.LoggerAdapter(
            logging.getLogger(f"tasktrack.task.{name}"), {"task_id": task_id, "attempt": attempt}
        )
        self._current = current_step
        self._total = total_step
        self._sink = sink
        self._flush_interval = flush_interval
        self._last_flush = 0.0
        self._dirty = False
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    # -- progress ----------------------------------------------------------------------

    @property
    def current_step(self) -> int:
        return self._current

    @property
    def total_step(self) -> int:
        return self._total

    def step(self, n: int = 1) -> None:
        """Mark ``n`` more steps finished (``totalStep`` grows if the count passes it)."""
        if n < 0:
            raise ValueError("step() takes a non-negative count")
        with self._lock:
            self._current += n
            self._total = max(self._total, self._current)
            self._changed()

    def set_progress(self, current: int, total: int | None = None) -> None:
        """Set ``currentStep`` (and optionally ``totalStep``) outright."""
        if current < 0 or (total is not None and total < 0):
            raise ValueError("progress counts must be non-negative")
        with self._lock:
            if total is not None:
                self._total = total
            self._current = current
            self._total = max(self._total, self._current)
            self._changed()

    def set_total(self, total: int) -> None:
        """Set ``totalStep`` (never below the steps already done)."""
        self.set_progress(self._current, max(total, self._current))

    def _changed(self) -> None:
        now = time.monotonic()
        if now - self._last_flush >= self._flush_interval:
            self._last_flush = now
            self._dirty = False
            self._sink(self._current, self._total)
        else:
            self._dirty = True

    def flush(self) -> None:
        """Send progress not yet sent (called by the runner periodically and at the end)."""
        with self._lock:
            if self._dirty:
                self._dirty = False
                self._last_flush = time.monotonic()
                self._sink(self._current, self._total)

    # -- cancellation ------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        """True once a cancel was requested for this task."""
        return self._cancel.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`TaskCancelled` if a cancel was requested."""
        if self._cancel.is_set():
            raise TaskCancelled(f"task {self.task_id} was cancelled")

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds for a cancel request (a cancellable sleep)."""
        return self._cancel.wait(timeout)

    def _request_cancel(self) -> None:
        self._cancel.set()
