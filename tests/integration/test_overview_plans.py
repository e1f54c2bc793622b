"""The overview's reads use indexes, never a scan of the tasks table (issue 16).

On the 100,000-task SQLite file of :mod:`tests.integration.test_query_plans` (no ``ANALYZE``,
as in production): finished counts and run times read a range of finished times
(``tasks_org_finished`` or ``tasks_finished``, as the planner likes); the unfinished counts
read an index only (SQLite picks the covering ``(org_id, status, id)`` index for the GROUP
BY; its statements also name the partial indexes' conditions, for PostgreSQL's planner).
"""

from __future__ import annotations

import sqlite3

import pytest

from tasktrack.storage import workers_sql
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.dialect import SQLiteDialect
from tests.integration.plan_files import GROUP, ORG
from tests.integration.test_query_plans import plan, plan_problems

pytestmark = pytest.mark.xdist_group(GROUP)

SINCE = 1_700_001_000.0
#: A range over finished times: per organisation, or per final status (either reads only the
#: window's finished tasks; the planner picks).
_WINDOWED = ("tasks_org_finished", "tasks_finished")


@pytest.mark.parametrize(
    ("name", "indexes"),
    [
        ("finished", _WINDOWED),
        ("durations", _WINDOWED),
        ("unfinished", ("COVERING INDEX", "tasks_claim", "tasks_lease")),
    ],
)
def test_overview_reads_use_their_indexes(
    plans_db: sqlite3.Connection, name: str, indexes: tuple[str, ...]
) -> None:
    dialect = SQLiteDialect(SQLiteDatabase(":memory:"))
    sql, args = {
        "finished": workers_sql.finished_counts(dialect, ORG, SINCE, 60),
        "durations": workers_sql.done_durations(ORG, SINCE),
        "unfinished": workers_sql.UNFINISHED,
    }[name]
    steps = plan(plans_db, sql, list(args))
    assert not plan_problems(steps, ordered=False), steps
    reads = [step for step in steps if step.split()[:2] in (["SCAN", "tasks"], ["SEARCH", "tasks"])]
    assert reads and all(any(i in step for i in indexes) for step in reads), steps
