"""The contract's view of a Task: the 13 fields, in the seed's order, JSON-ready."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tasktrack.domain.task import Task


def rfc3339(value: datetime | None) -> str | None:
    """UTC, second precision, with ``Z`` (the seed's ``2023-11-07T05:31:56Z``)."""
    # isoformat is several times cheaper than strftime; the first 19 characters are the
    # date and time to the second (values are always UTC).
    return None if value is None else value.isoformat(timespec="seconds")[:19] + "Z"


def task_fields(task: Task) -> dict[str, Any]:
    """The 13 contract fields, in order (dict order is the wire order)."""
    return {
        "name": task.name,
        "data": task.data,
        "status": task.status.value,
        "currentStep": task.current_step,
        "totalStep": task.total_step,
        "failReason": task.fail_reason,
        "lastRunAt": rfc3339(task.last_run_at),
        "lastFinishedAt": rfc3339(task.last_finished_at),
        "_id": task.id,
        "createdAt": task.created_at,
        "lastChanged": task.last_changed,
        "createdBy": task.created_by,
        "lastChangedBy": task.last_changed_by,
    }
