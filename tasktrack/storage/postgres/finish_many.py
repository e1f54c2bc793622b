"""Many finishes as one statement, for PostgreSQL's group commit.

Why: a draining worker settles almost every attempt with a finish. Group commit already
puts the finishes that arrive together into one transaction and one round trip, but each
was still its own statement, and psycopg's work per statement (building the query, sending
it, reading its result, turning the 25-column row into Python values) was the largest part
of the worker's CPU per task: a pipeline of 8 finish statements cost the client ~370 µs per
task, one statement over arrays ~110 µs (``bench/README.md``, "Stop 21"). pgqueuer
acknowledges its jobs the same way, with arrays.

The statement is :func:`tasktrack.storage.lifecycle_sql.finish` (and ``with_result``) for
many rows: the same fence (id, attempt number, running status), the same columns set, the
same attempt record and result row, each task with its own ``now``. Its UPDATE is
:func:`~tasktrack.storage.lifecycle_sql.finish_from` (built from the lifecycle table, shared
with SQLite's); ``tests/integration/test_finish_many.py`` checks on both databases that it
leaves every table exactly as the one-row statements do.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasktrack.storage.attempts import ATTEMPT_COLUMNS
from tasktrack.storage.dialect import Finished, Statement
from tasktrack.storage.lifecycle_sql import FINISHED, finish_from

_SQL = (
    "WITH a AS (SELECT * FROM unnest(?::text[], ?::integer[], ?::float8[], ?::bigint[],"
    " ?::text[]) AS a(id, attempt, now, changed, result)),"
    f" moved AS ({finish_from('a', 'a.id', 'a.attempt', 'a.now', 'a.changed')}"
    " RETURNING tasks.*),"
    f" f0 AS (INSERT INTO task_attempts ({ATTEMPT_COLUMNS})"
    " SELECT id, attempts, coalesce(worker_id, ''), last_run_at, last_finished_at,"
    f" '{FINISHED.value}', '' FROM moved),"
    " f1 AS (INSERT INTO task_results (task_id, attempt, value, created_at)"
    " SELECT m.id, m.attempts, a.result, a.now FROM moved m JOIN a ON a.id = m.id"
    " WHERE a.result IS NOT NULL ON CONFLICT (task_id) DO NOTHING)"
    " SELECT * FROM moved"
)


def finish_many(finished: Sequence[Finished]) -> Statement:
    """One statement finishing every attempt of ``finished`` (distinct task ids) that still
    holds its task; it returns the rows it moved (a lost lease moves none)."""
    ids, attempts, nows, results = zip(*finished, strict=True)
    return _SQL, (list(ids), list(attempts), list(nows), [int(n) for n in nows], list(results))
