"""The statements of retention: delete one finished task, prune the oldest finished ones.

Every statement repeats the ``tasks_finished`` index's own condition (``status IN (the
terminal statuses)``, migration 0005) word for word: a partial index is used only where the
query's WHERE visibly implies the index's, and neither SQLite nor PostgreSQL's generic plans
can prove that from ``status = ?`` with a bound parameter alone. So prune reads the index in
order and stops after ``limit`` entries instead of scanning the table.
"""

from __future__ import annotations

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.storage.dialect import Statement

#: The tasks_finished index's condition, exactly as the migration spells it.
FINISHED = "status IN ('done', 'error', 'cancelled')"

_PRUNABLE = f"status = ? AND {FINISHED} AND last_finished_at < ?"


def delete_one(task_id: str, scope: Scope) -> Statement:
    """Delete ``task_id`` if it is finished and within ``scope``; returns its row."""
    project = "" if scope.project_id is None else " AND project_id = ?"
    args = (task_id, scope.org_id) + (() if scope.project_id is None else (scope.project_id,))
    return (
        f"DELETE FROM tasks WHERE id = ? AND org_id = ?{project} AND {FINISHED} RETURNING *",
        args,
    )


def oldest(status: Status, finished_before: float, limit: int) -> Statement:
    """The ids of the ``limit`` oldest ``status`` tasks finished before ``finished_before``."""
    return (
        f"SELECT id FROM tasks WHERE {_PRUNABLE} ORDER BY status, last_finished_at LIMIT ?",
        (status.value, finished_before, limit),
    )


def prune(status: Status, finished_before: float, limit: int) -> Statement:
    """Delete what :func:`oldest` selects (child rows go by ON DELETE CASCADE)."""
    select, args = oldest(status, finished_before, limit)
    return f"DELETE FROM tasks WHERE id IN ({select})", args


def count(status: Status, finished_before: float) -> Statement:
    """How many tasks :func:`prune` could delete, without a limit."""
    return f"SELECT count(*) FROM tasks WHERE {_PRUNABLE}", (status.value, finished_before)
