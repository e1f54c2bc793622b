"""The lifecycle's writes as SQL, shared by the SQLite and PostgreSQL stores.

Written once with ``?`` placeholders (the PostgreSQL store converts them with :func:`pg`).
Every statement is conditional on the task's status, and a running attempt's writes also on
``attempts = ?`` (the fencing token), so the database itself enforces the table in
:mod:`tasktrack.domain.lifecycle`: a statement that matches no row means the move was refused.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tasktrack.domain.lifecycle import sources

Statement = tuple[str, tuple[Any, ...]]


def _in(values: Collection[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


RUNNING = _in(("active", "cancelling"))
#: Columns every user-visible change touches.
TOUCH = "last_changed = ?, version = version + 1"
#: Into a terminal status: the lease and the worker are let go.
END = (
    "UPDATE tasks SET status = ?, last_finished_at = ?, lease_expires_at = NULL, "
    f"worker_id = NULL, {TOUCH}"
)
_FENCE = "WHERE id = ? AND attempts = ?"


def pg(statement: Statement) -> Statement:
    """The statement with psycopg's ``%s`` placeholders (our SQL holds no other ``?``)."""
    sql, args = statement
    return sql.replace("?", "%s"), args


def finish(task_id: str, attempt: int, now: float) -> Statement:
    return (
        f"{END}, current_step = total_step {_FENCE} "
        f"AND status IN {_in(sources('finish'))} RETURNING *",
        ("done", now, int(now), task_id, attempt),
    )


def fail(task_id: str, attempt: int, reason: str, now: float) -> Statement:
    return (
        f"{END}, fail_reason = ? {_FENCE} AND status IN {_in(sources('fail'))} RETURNING *",
        ("error", now, int(now), reason, task_id, attempt),
    )


def stop(task_id: str, attempt: int, now: float) -> Statement:
    """cancelling → cancelled (also what a retry or release of a cancelling task becomes)."""
    return (
        f"{END} {_FENCE} AND status IN {_in(sources('stop'))} RETURNING *",
        ("cancelled", now, int(now), task_id, attempt),
    )


def requeue(
    task_id: str, attempt: int, now: float, set_extra: str, extra: tuple[Any, ...]
) -> Statement:
    """active → queued (a retry after its backoff, or a release at shutdown)."""
    return (
        f"UPDATE tasks SET status = 'queued', {set_extra}, worker_id = NULL, "
        f"lease_expires_at = NULL, {TOUCH} {_FENCE} "
        f"AND status IN {_in(sources('retry'))} RETURNING *",
        (*extra, int(now), task_id, attempt),
    )


def progress(task_id: str, attempt: int, current: int, total: int, now: float) -> Statement:
    """Step counts of a running attempt; matches no row when nothing changed."""
    return (
        f"UPDATE tasks SET current_step = ?, total_step = ?, {TOUCH} {_FENCE} "
        f"AND status IN {RUNNING} AND (current_step <> ? OR total_step <> ?) RETURNING status",
        (current, total, int(now), task_id, attempt, current, total),
    )


def running_status(task_id: str, attempt: int) -> Statement:
    """The status of a task if ``attempt`` still runs it."""
    return (
        f"SELECT status FROM tasks {_FENCE} AND status IN {RUNNING}",
        (task_id, attempt),
    )


def expire(now: float, lost_reason: str) -> list[Statement]:
    """Recover lapsed leases: cancelling → cancelled; active → queued while attempts remain,
    else → error with ``lost_reason``. Run in one transaction, in this order."""
    stale = f"status IN {RUNNING} AND lease_expires_at < ?"
    return [
        (
            f"{END} WHERE {stale} AND status = 'cancelling' RETURNING *",
            ("cancelled", now, int(now), now),
        ),
        (
            "UPDATE tasks SET status = 'queued', worker_id = NULL, lease_expires_at = NULL, "
            f"{TOUCH} WHERE {stale} AND status = 'active' AND attempts < max_attempts "
            "RETURNING *",
            (int(now), now),
        ),
        (
            f"{END}, fail_reason = ? WHERE {stale} AND status = 'active' RETURNING *",
            ("error", now, int(now), lost_reason, now),
        ),
    ]
