"""Many finishes as one statement, for SQLite's writer thread.

Why: the writer thread is what limits a SQLite drain (``bench/README.md``, "Stop 21": busy
nearly all the time, claims waiting for it). Each finish was four statements on it
(a savepoint, the UPDATE, the attempt's record, the release), and each statement hands the
GIL back and forth with the worker's event loop. Finishes that arrive in one group now run
as one ``UPDATE ... FROM (VALUES ...)`` and one INSERT of their attempt records: ~80 µs of the
writer's CPU per finish instead of ~160 to 210 (a ``/tmp`` probe of 8 per group).

The statement is :func:`tasktrack.storage.lifecycle_sql.finish` (and ``with_result``) for
many rows, as PostgreSQL's (:mod:`tasktrack.storage.postgres.finish_many`), which uses arrays
SQLite does not have. Values are bound as parameters, not read from JSON, so each time is
stored to the bit (keyset cursors compare them exactly). The VALUES list is padded to a power
of two with rows that match no task, so a few statement texts serve every group size (the
statement cache holds them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable, Sequence
from typing import Any

from tasktrack.storage.attempts import ATTEMPT_COLUMNS
from tasktrack.storage.dialect import Finished, Row
from tasktrack.storage.lifecycle_sql import FINISHED, finish_from

_UPDATE = (
    finish_from("(VALUES {values}) AS a", "a.column1", "a.column2", "a.column3", "a.column4")
    + " RETURNING *"
)
_RECORD = (
    f"INSERT INTO task_attempts ({ATTEMPT_COLUMNS})"
    " SELECT id, attempts, coalesce(worker_id, ''), last_run_at, last_finished_at,"
    f" '{FINISHED.value}', '' FROM tasks WHERE id IN ({{ids}})"
)
_RESULT = (
    "INSERT INTO task_results (task_id, attempt, value, created_at)"
    " SELECT id, attempts, ?, ? FROM tasks WHERE id = ? ON CONFLICT (task_id) DO NOTHING"
)
#: A padding row: no task has an empty id.
_NOTHING = ("", 0, 0.0, 0)


def finish_many(con: sqlite3.Connection, finished: Sequence[Finished]) -> dict[Hashable, list[Row]]:
    """Finish every attempt of ``finished`` (distinct task ids) that still holds its task, in
    the writer's transaction; each moved task's id -> ``[its row]`` (a lost lease: absent)."""
    size = 1 << (len(finished) - 1).bit_length()
    params: list[Any] = []
    for task_id, attempt, now, _ in finished:
        params += (task_id, attempt, now, int(now))
    params += _NOTHING * (size - len(finished))
    update = _UPDATE.format(values=", ".join(["(?, ?, ?, ?)"] * size))
    rows: list[Row] = con.execute(update, params).fetchall()
    if not rows:
        return {}
    moved = {row[0]: [row] for row in rows}  # RETURNING *: ``id`` is the first column
    con.execute(_RECORD.format(ids=", ".join("?" * len(moved))), list(moved))
    results = [(value, now, task_id) for task_id, _, now, value in finished if value is not None]
    con.executemany(_RESULT, [r for r in results if r[2] in moved])
    return dict(moved)
