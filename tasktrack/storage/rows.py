"""Row <-> domain conversion shared by the SQL stores (column order of the tasks table).

Neutral ground: both dialects read and write the same row layout."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task

TASK_COLUMNS = (
    "id",
    "org_id",
    "project_id",
    "name",
    "data",
    "status",
    "current_step",
    "total_step",
    "fail_reason",
    "last_run_at",
    "last_finished_at",
    "created_at",
    "last_changed",
    "created_by",
    "last_changed_by",
    "attempts",
    "max_attempts",
    "run_after",
    "lease_expires_at",
    "worker_id",
    "version",
    "rerun_of",
    "priority",
    "queue",
    "concurrency_key",
)
#: What ``SELECT *`` and ``RETURNING *`` give, in the table's order: the columns above, and
#: ``unique_key`` (migration 7; set by the deduplicating create after the insert, read by
#: its module) between ``queue`` (migration 6) and ``concurrency_key`` (migration 8).
#: A test compares this with both databases' tables.
TABLE_COLUMNS = (*TASK_COLUMNS[:24], "unique_key", *TASK_COLUMNS[24:])
_CONCURRENCY_KEY = TABLE_COLUMNS.index("concurrency_key")


def insert_task(data_param: str = "?") -> str:
    """The INSERT of one task row; ``data_param`` is the JSON column's placeholder (a dialect
    may cast it, e.g. PostgreSQL's ``?::json``)."""
    params = (data_param if column == "data" else "?" for column in TASK_COLUMNS)
    return f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join(params)})"


INSERT_TASK = insert_task()


def exact_time(now: float) -> float:
    """``now`` at the microsecond precision of the datetimes handed out.

    Stored times must equal what ``Task.last_run_at.timestamp()`` gives back, or keyset
    cursors built from them (``last_run_at = ?``) would never match the stored value.
    """
    return datetime.fromtimestamp(now, UTC).timestamp()


def _time(value: float) -> datetime | None:
    return None if value < 0 else datetime.fromtimestamp(value, UTC)


def _stamp(value: datetime | None) -> float:
    return -1.0 if value is None else value.timestamp()


def task_from_row(row: Sequence[Any]) -> Task:
    """The task a ``SELECT *`` row of ``tasks`` holds (JSON as text or already decoded)."""
    data = row[4]
    return Task(
        id=row[0],
        org_id=row[1],
        project_id=row[2],
        name=row[3],
        data=orjson.loads(data) if isinstance(data, str | bytes) else data,
        status=Status(row[5]),
        current_step=row[6],
        total_step=row[7],
        fail_reason=row[8],
        last_run_at=_time(row[9]),
        last_finished_at=_time(row[10]),
        created_at=row[11],
        last_changed=row[12],
        created_by=row[13],
        last_changed_by=row[14],
        attempts=row[15],
        max_attempts=row[16],
        run_after=row[17],
        lease_expires_at=row[18],
        worker_id=row[19],
        version=row[20],
        rerun_of=row[21],
        priority=row[22],
        queue=row[23],
        concurrency_key=row[_CONCURRENCY_KEY],
    )


def task_to_row(task: Task) -> tuple[Any, ...]:
    """The row for ``task``, in :data:`TASK_COLUMNS` order."""
    return (
        task.id,
        task.org_id,
        task.project_id,
        task.name,
        orjson.dumps(task.data).decode(),
        task.status.value,
        task.current_step,
        task.total_step,
        task.fail_reason,
        _stamp(task.last_run_at),
        _stamp(task.last_finished_at),
        task.created_at,
        task.last_changed,
        task.created_by,
        task.last_changed_by,
        task.attempts,
        task.max_attempts,
        task.run_after,
        task.lease_expires_at,
        task.worker_id,
        task.version,
        task.rerun_of,
        task.priority,
        task.queue,
        task.concurrency_key,
    )
