"""Periodic tasks on SQL (issue 14): one task per (schedule, slot), whoever creates it.

A slot's task is created in the same transaction as its ``schedule_runs`` row, and only if
that row is new (``INSERT … ON CONFLICT DO NOTHING``, then the task insert only when a row
was inserted: :meth:`Dialect.write_guarded`). The primary key (schedule, slot) is the whole
mechanism: any number of schedulers may try a slot; one inserts, the others change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasktrack.domain.task import Task
from tasktrack.storage.dialect import Dialect, Statement
from tasktrack.storage.rows import task_to_row

_CLAIM_SLOT = (
    "INSERT INTO schedule_runs (schedule, slot, task_id, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (schedule, slot) DO NOTHING"
)
#: Reads the primary key backwards: one index entry per schedule.
_LAST = "SELECT slot, task_id FROM schedule_runs WHERE schedule = ? ORDER BY slot DESC LIMIT 1"
#: Keeps each schedule's latest row: it is the schedule's "last run" and the floor below
#: which no scheduler creates slots again.
_PRUNE = (
    "DELETE FROM schedule_runs WHERE created_at < ? AND slot <"
    " (SELECT max(slot) FROM schedule_runs m WHERE m.schedule = schedule_runs.schedule)"
)


def slot_statements(insert: str, schedule: str, slot: float, task: Task) -> list[Statement]:
    """Claim ``slot`` of ``schedule`` and, only if that claimed it, insert ``task``."""
    claim = (_CLAIM_SLOT, (schedule, slot, task.id, float(task.created_at)))
    return [claim, (insert, task_to_row(task))]


class SqlSchedules:
    """The periodic part of :class:`~tasktrack.storage.sql_store.SqlTaskStore`."""

    dialect: Dialect
    _insert: str

    def _notify(self, task: Task) -> Task:
        raise NotImplementedError  # provided by the store

    async def create_for_slot(self, schedule: str, slot: float, task: Task) -> Task | None:
        statements = slot_statements(self._insert, schedule, slot, task)
        if not await self.dialect.write_guarded(statements):
            return None
        return self._notify(task)

    async def last_runs(self, schedules: Sequence[str]) -> dict[str, tuple[float, str]]:
        found: dict[str, tuple[float, str]] = {}
        for schedule in schedules:
            row = await self.dialect.lookup_one((_LAST, (schedule,)))
            if row is not None:
                found[schedule] = (float(row[0]), row[1])
        return found

    async def prune_schedule_runs(self, created_before: float) -> int:
        return await self.dialect.delete_exclusive((_PRUNE, (created_before,))) or 0
