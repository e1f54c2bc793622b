"""The changes of one caller's tasks, polled from the store for the event stream.

One :class:`ChangeFeed` per connection lists the caller's tasks whose ``lastChanged`` lies in a
short window, every poll, through the same service call ``GET /tasks`` uses (so it is scoped to
the caller's organisation and served by the ``(org_id, last_changed, id)`` index).
``lastChanged`` has one-second granularity and writers' clocks may differ a little, so each
poll re-reads from ``SLACK`` seconds before the previous poll began and drops what it already
sent, by task version.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tasktrack.domain.identity import Principal
from tasktrack.domain.listing import FieldFilter, ListQuery, Scope, parse_sort
from tasktrack.domain.task import Task
from tasktrack.service.tasks import TaskService

#: Seconds of ``lastChanged`` re-read on every poll (second granularity plus clock skew).
SLACK = 2
#: Tasks read per page, and pages read per poll before the client is told to reset.
PAGE_SIZE = 100
MAX_PAGES = 5
#: The window's open end: the largest ``lastChanged`` a store holds (a 64-bit integer), so
#: the window never closes before the clock does (a 32-bit cap ended it on 2038-01-19).
NEWEST = 2**63 - 1

Clock = Callable[[], float]


class ChangeFeed:
    """The changes of one caller's tasks, polled from the store."""

    def __init__(
        self,
        tasks: TaskService,
        principal: Principal,
        scope: Scope,
        since: int,
        clock: Clock = time.time,
    ) -> None:
        self.tasks = tasks
        self.principal = principal
        self.scope = scope
        self.clock = clock
        #: Start of the next poll's window (before SLACK is taken off).
        self.cursor = since
        #: Versions already reported, with the task's lastChanged (for pruning).
        self._seen: dict[str, tuple[int, int]] = {}

    async def poll(self) -> tuple[list[Task], bool]:
        """Tasks changed since the last poll, oldest change first; False when truncated."""
        started = int(self.clock())
        changed, complete = await self._read(self._window(self.cursor - SLACK))
        # What lies before the next window is never read again: forget it.
        self._seen = {k: v for k, v in self._seen.items() if v[1] >= started - SLACK}
        self.cursor = started
        return changed, complete

    def _window(self, low: int) -> ListQuery:
        return ListQuery(
            scope=self.scope,
            filters=(FieldFilter("lastChanged", range=(low, NEWEST)),),
            sort=parse_sort("lastChanged:asc"),
            limit=PAGE_SIZE,
        )

    async def _read(self, query: ListQuery) -> tuple[list[Task], bool]:
        """Up to MAX_PAGES pages of ``query``: the unseen versions, and whether all were read."""
        changed: list[Task] = []
        for _ in range(MAX_PAGES):
            page = await self.tasks.list(self.principal, query)
            changed += [task for task in page.items if self._note(task)]
            if page.next_cursor is None:
                return changed, True
            query = ListQuery(
                scope=self.scope, filters=query.filters, limit=PAGE_SIZE, cursor=page.next_cursor
            )
        return changed, False

    def _note(self, task: Task) -> bool:
        """Remember ``task``'s version; True if it was not reported before."""
        new = self._seen.get(task.id, (None,))[0] != task.version
        self._seen[task.id] = (task.version, task.last_changed)
        return new
