"""Reading a task's log: a page of lines after a cursor, optionally waiting for new ones."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tasktrack.domain.history import LogLine
from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import TERMINAL
from tasktrack.errors import InvalidArgument
from tasktrack.service.tasks import MAX_WAIT, TaskService

#: Most lines one read returns, and the default.
MAX_LOG_LIMIT = 1000
DEFAULT_LOG_LIMIT = 100
#: How often a waiting read looks again. Change signals wake it sooner where the store has
#: them (the same process's writes); PostgreSQL only NOTIFYs for queued/cancelling tasks and
#: SQLite not across processes, so a short re-read interval finds other processes' lines.
LOG_POLL_INTERVAL = 0.25


@dataclass(frozen=True, slots=True)
class LogPage:
    """Lines after a cursor; ``next`` is the cursor for the following read; ``finished``: the
    task is terminal and no line follows these (its log is complete)."""

    items: list[LogLine]
    next: int
    finished: bool


class TaskLogs:
    """A task's log, scoped to the caller's organisation like every task read."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks
        self.poll_interval = LOG_POLL_INTERVAL

    async def read(
        self, principal: Principal, task_id: str, after: int = 0, limit: int = 100, wait: float = 0
    ) -> LogPage:
        """Lines of ``task_id`` after ``after``; with ``wait``, hold on until a line exists,
        the task is terminal, or ``wait`` seconds passed (then with no items).

        Raises NotFound for a missing task or one of another organisation.
        """
        _check(after, limit, wait)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        page = await self._page(principal, task_id, after, limit)
        while not page.items and not page.finished and (left := deadline - loop.time()) > 0:
            if self.tasks.stopping():
                break
            await self.tasks.store.wait_changed([task_id], min(self.poll_interval, left))
            page = await self._page(principal, task_id, after, limit)
        return page

    async def _page(self, principal: Principal, task_id: str, after: int, limit: int) -> LogPage:
        # The status first: a terminal task's lines were all stored before it ended.
        task = await self.tasks.get(principal, task_id)
        items = await self.tasks.store.logs(task_id, after, limit)
        finished = task.status in TERMINAL and len(items) < limit
        return LogPage(items, items[-1].seq if items else after, finished)


def _check(after: int, limit: int, wait: float) -> None:
    if after < 0:
        raise InvalidArgument("after must be a non-negative line number")
    if not 1 <= limit <= MAX_LOG_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LOG_LIMIT}")
    if not 0 <= wait <= MAX_WAIT:
        raise InvalidArgument(f"wait must be between 0 and {MAX_WAIT:g} seconds")
