"""A large queued backlog of mixed priority, queue, organisation, type and due time, for the
claim's query-plan tests on both databases (written straight into the tasks table)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tasktrack.storage.rows import TASK_COLUMNS

ROWS = 100_000
NOW = 1_700_000_000.0
ORGS = ("a" * 24, "b" * 24, "c" * 24)
#: Every 10,000th task is in queue "fast"; the rest alternate "bulk" and "default".
FAST_EVERY = 10_000


def queue_of(i: int) -> str:
    if i % FAST_EVERY == 0:
        return "fast"
    return "bulk" if i % 2 else "default"


def backlog_rows() -> Iterator[tuple[Any, ...]]:
    """:data:`ROWS` queued tasks: priorities -2..2, one in four not yet due, one in three of
    type ``job.other`` (a type the explained worker does not run), three organisations."""
    for i in range(ROWS):
        due = NOW + 3600 + i if i % 4 == 3 else NOW - 1000 + i / 100
        row = {
            "id": f"{0x65000000 + i // 1000:08x}{i:016x}",
            "org_id": ORGS[i % 3],
            "project_id": None,
            "name": "job.other" if (i // 3) % 3 == 1 and i % FAST_EVERY else "job",
            "data": f'{{"i": {i}}}',
            "status": "queued",
            "current_step": 0,
            "total_step": 0,
            "fail_reason": "",
            "last_run_at": -1.0,
            "last_finished_at": -1.0,
            "created_at": int(NOW),
            "last_changed": int(NOW),
            "created_by": "1" * 24,
            "last_changed_by": "1" * 24,
            "attempts": 0,
            "max_attempts": 1,
            "run_after": due,
            "lease_expires_at": None,
            "worker_id": None,
            "version": 1,
            "rerun_of": None,
            "priority": i % 5 - 2,
            "queue": queue_of(i),
            "concurrency_key": None,
        }
        yield tuple(row[column] for column in TASK_COLUMNS)
