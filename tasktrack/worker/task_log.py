"""In the worker: one attempt's log lines, from its child to the store and to stderr.

Lines arrive in batches from the child (see :mod:`tasktrack.worker.capture`). Each is shown
at once on the worker's own log, prefixed with the task id and attempt so that two tasks'
lines can be told apart, and kept until the next write: at most one ``append_logs`` per
``interval`` while the handler runs (as progress is written), and a last one when it ends,
before the attempt is settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from tasktrack.domain.logs import LOG_LINES_PER_TASK, LogEntry
from tasktrack.storage.base import TaskStore

log = logging.getLogger("tasktrack.worker")

#: How captured output levels show on the worker's stderr.
_STREAM_LEVELS = {"STDOUT": logging.INFO, "STDERR": logging.ERROR}


class TaskLogger(logging.LoggerAdapter[logging.Logger]):
    """The worker's own lines about one attempt: "task <id> attempt <n>: ..."."""

    def __init__(self, logger: logging.Logger, task_id: str, attempt: int) -> None:
        super().__init__(logger, {"task_id": task_id, "attempt": attempt})
        self.prefix = f"task {task_id} attempt {attempt}: "

    def process(self, msg: object, kwargs: object) -> tuple[object, object]:  # type: ignore[override]
        # The ids as fields too (JSON logs): the child's lines are read outside the attempt's
        # context, so the context variables may not hold them.
        assert isinstance(kwargs, dict)
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return self.prefix + str(msg), kwargs


class TaskLogWriter:
    """Pending lines of one attempt, written to the store in batches."""

    def __init__(
        self, store: TaskStore, task_id: str, name: str, attempt: int, interval: float
    ) -> None:
        self._store = store
        self._task_id = task_id
        self._attempt = attempt
        self._interval = interval
        self._echo = TaskLogger(logging.getLogger(f"tasktrack.task.{name}"), task_id, attempt)
        self._pending: list[LogEntry] = []
        self._dropped = 0
        self._last_write = 0.0
        self._writer: asyncio.Task[None] | None = None
        self._writing = False

    def add(self, lines: Sequence[tuple[float, str, str]], dropped: int) -> None:
        """A batch from the child: echo it, keep it, and make sure a write follows."""
        for line in lines:
            self._echo.log(_echo_level(line[1]), "%s", line[2])
        self.keep(lines, dropped)

    def keep(self, lines: Sequence[tuple[float, str, str]], dropped: int) -> None:
        """Lines the worker's log has shown already (an in-process handler's): keep them,
        and make sure a write follows."""
        self._keep([LogEntry(*line) for line in lines], dropped)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_soon())

    def _keep(self, entries: list[LogEntry], dropped: int) -> None:
        self._pending += entries
        self._dropped += dropped
        over = len(self._pending) - LOG_LINES_PER_TASK
        if over > 0:  # the store would drop them anyway: keep memory bounded
            del self._pending[:over]
            self._dropped += over

    async def _write_soon(self) -> None:
        wait = self._last_write + self._interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # coalesce: a chatty handler is one write per interval
        await self._write()

    async def flush(self) -> None:
        """Write every pending line now (at the end of the attempt)."""
        writer = self._writer
        if writer is not None and not writer.done():
            if not self._writing:  # not started or asleep: this flush writes its lines
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        await self._write()

    def cancel(self) -> None:
        if self._writer is not None:
            self._writer.cancel()

    async def _write(self) -> None:
        if not self._pending and not self._dropped:
            return
        lines, dropped = self._pending, self._dropped
        self._pending, self._dropped = [], 0
        self._last_write = time.monotonic()
        self._writing = True
        try:
            await self._store.append_logs(self._task_id, self._attempt, lines, dropped)
        except Exception:  # the lines are lost, the task is not: never fail an attempt
            self._echo.warning("could not store %d log lines", len(lines), exc_info=True)
        finally:
            self._writing = False


def _echo_level(level: str) -> int:
    if level in _STREAM_LEVELS:
        return _STREAM_LEVELS[level]
    number = logging.getLevelName(level)
    return number if isinstance(number, int) else logging.INFO
