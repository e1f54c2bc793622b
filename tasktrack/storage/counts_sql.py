"""Totals from the task counters (migration 0011), for the SQL store.

Lists whose filters the counters can answer (:func:`tasktrack.storage.sql.counted`) sum
``task_count_view``; so does the metrics' per-status gauge. On PostgreSQL the view includes
deltas not yet folded into the counters, and a list that summed many of them compacts them.
See docs/counts.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasktrack.domain.lifecycle import Status
from tasktrack.storage.dialect import Dialect, Row, Statement

#: A few rows per organisation, not one per task.
COUNT_BY_STATUS: Statement = ("SELECT status, sum(n) FROM task_count_view GROUP BY status", ())
#: A list that summed this many pending counter deltas compacts them (PostgreSQL): a few
#: milliseconds once, so the next lists read a handful of counter rows again.
COMPACT_AT = 5000


class SqlCounts:
    """The counter reads of :class:`~tasktrack.storage.sql_store.SqlTaskStore`."""

    dialect: Dialect

    async def count_by_status(self) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        for status, n in await self.dialect.scan_all(COUNT_BY_STATUS):
            counts[Status(status)] = int(n)
        return counts

    async def compact_counts(self) -> int:
        return await self.dialect.compact_counts()

    async def _total(self, counted: Sequence[Row]) -> int:
        """The total a list's count statement returned (``total, pending deltas``)."""
        if not counted:
            return 0
        total, pending = int(counted[0][0]), int(counted[0][1])
        if pending >= COMPACT_AT:
            await self.dialect.compact_counts()
        return total
