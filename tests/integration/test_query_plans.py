"""The list queries use an index for every access to ``tasks`` and never sort in a temp B-tree.

Against the 100,000-task file of :mod:`tests.integration.plan_files` (no ``ANALYZE``, as in
production). For each filter and each sort key of ``SORTABLE`` in both directions, the page
query (first page, and after a ``next`` and a ``previous`` cursor) and the count query built by
:func:`tasktrack.storage.sql.list_sql` are explained, and every plan step is checked; a cursor
page must also bound the index range by its leading sort key (otherwise a page deep in the
list walks every row before the cursor).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from tasktrack.domain.fairness import Lane
from tasktrack.domain.flow import Rate
from tasktrack.domain.listing import (
    FIELDS,
    SORTABLE,
    Cursor,
    FieldFilter,
    ListQuery,
    Scope,
    parse_field_filter,
    parse_sort,
)
from tasktrack.storage import flow_sql, lifecycle_sql
from tasktrack.storage.sql import list_sql
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.dialect import SQLiteDialect
from tests.integration import backlog as mixed
from tests.integration.plan_files import GROUP, ORG, USER

pytestmark = pytest.mark.xdist_group(GROUP)
INDEXED = ("USING INDEX", "USING COVERING INDEX", "USING PRIMARY KEY", "USING INTEGER PRIMARY KEY")


def plan(con: sqlite3.Connection, sql: str, params: list[Any]) -> list[str]:
    return [str(row[3]) for row in con.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


def plan_problems(steps: list[str], *, ordered: bool) -> list[str]:
    """What is wrong with a plan: a step on ``tasks`` without an index, or (for a page
    query, ``ordered``) a temp B-tree for the ORDER BY (any part of it)."""
    problems = []
    for step in steps:
        words = step.split()
        touches_tasks = len(words) > 1 and words[0] in ("SCAN", "SEARCH") and words[1] == "tasks"
        if touches_tasks and not any(how in step for how in INDEXED):
            problems.append(f"no index: {step!r}")
        if ordered and "TEMP B-TREE" in step and "ORDER BY" in step:
            problems.append(f"sorts in a temp B-tree: {step!r}")
    return problems


def unbounded(steps: list[str], column: str) -> list[str]:
    """For a cursor page: the steps that read ``tasks`` through an index without bounding
    ``column`` (the leading sort key), i.e. that walk from the start of the index to the
    cursor, a cost that grows with the cursor's depth."""
    reads = [step for step in steps if step.split()[:2] in (["SEARCH", "tasks"], ["SCAN", "tasks"])]
    return [step for step in reads if not any(f"{column}{op}" in step for op in "<>")]


def pinned(filters: tuple[FieldFilter, ...]) -> set[str]:
    """Fields a filter holds to one value: a cursor on them has nothing to bound."""
    return {f.field for f in filters if f.range is None and len(f.values) == 1}


def _sample_value(field: str) -> Any:
    kind = SORTABLE[field]
    if kind == "str":
        return "task.type7" if field == "name" else "queued" if field == "status" else "0" * 24
    if kind == "time":
        return 1_700_000_500.123456
    return 1_700_000_500 if field in ("createdAt", "lastChanged") else 3


FILTERS: dict[str, tuple[FieldFilter, ...]] = {
    "no-filter": (),
    "status": (parse_field_filter("status", "queued"),),
    "status-alternatives": (parse_field_filter("status", "queued,active"),),
    "name": (parse_field_filter("name", "task.type7"),),
}


def _queries(
    filters: tuple[FieldFilter, ...], sort_spec: str, text: str | None
) -> Iterator[tuple[str, ListQuery]]:
    sort = parse_sort(sort_spec)
    values = tuple(_sample_value(key.field) for key in sort)
    scope = Scope(ORG)
    yield "first page", ListQuery(scope, filters, text, sort, limit=25)
    directions: tuple[Literal["next"], Literal["previous"]] = ("next", "previous")
    for direction in directions:
        cursor = Cursor(direction, sort, values)
        yield f"{direction} page", ListQuery(scope, filters, text, sort, limit=25, cursor=cursor)


def check(
    con: sqlite3.Connection, filters: tuple[FieldFilter, ...], sort: str, text: str | None = None
) -> None:
    report = []
    counted = False
    for label, query in _queries(filters, sort, text):
        sql, count_sql, params, count_params = list_sql(query, "?")
        steps = plan(con, sql, params)
        problems = plan_problems(steps, ordered=True)
        if query.cursor is not None and query.cursor.sort[0].field not in pinned(filters):
            lead = FIELDS[query.cursor.sort[0].field]
            problems += [
                f"cursor does not bound {lead}: {step!r}" for step in unbounded(steps, lead)
            ]
        if problems:
            report.append(f"{label}: {problems}\n    SQL: {sql}\n    plan: {steps}")
        if not counted:
            counted = True
            steps = plan(con, count_sql, count_params)
            problems = plan_problems(steps, ordered=False)
            if problems:
                report.append(f"count: {problems}\n    SQL: {count_sql}\n    plan: {steps}")
    assert not report, f"sort={sort} filters={filters} text={text!r}:\n" + "\n".join(report)


SORT_SPECS = [f"{field}:{direction}" for field in SORTABLE for direction in ("asc", "desc")]


@pytest.mark.parametrize("sort", SORT_SPECS)
@pytest.mark.parametrize("filter_name", list(FILTERS))
def test_list_queries_use_indexes_and_no_sort(
    plans_db: sqlite3.Connection, filter_name: str, sort: str
) -> None:
    check(plans_db, FILTERS[filter_name], sort)


@pytest.mark.parametrize("sort", ["createdAt:desc", "createdAt:asc", "_id:asc"])
def test_text_filter_queries_use_indexes_and_no_sort(
    plans_db: sqlite3.Connection, sort: str
) -> None:
    check(plans_db, (), sort, text="Type7")


def test_project_scoped_queries_use_indexes(plans_db: sqlite3.Connection) -> None:
    query = ListQuery(Scope(ORG, "0" * 24), limit=25)
    sql, count_sql, params, count_params = list_sql(query, "?")
    assert not plan_problems(plan(plans_db, sql, params), ordered=True), plan(plans_db, sql, params)
    assert not plan_problems(plan(plans_db, count_sql, count_params), ordered=False)


def test_the_checker_catches_a_bad_plan(plans_db: sqlite3.Connection) -> None:
    """A query with no usable index and an unindexed ORDER BY is reported."""
    steps = plan(plans_db, "SELECT * FROM tasks WHERE fail_reason = ? ORDER BY data", ["boom"])
    problems = plan_problems(steps, ordered=True)
    assert any("no index" in p for p in problems), steps
    assert any("temp B-tree" in p for p in problems), steps


Labelled = tuple[str, str, tuple[Any, ...]]


def _lifecycle_statements() -> Iterator[Labelled]:
    """Every statement the SQL store writes for the lifecycle, as SQLite runs it."""
    dialect = SQLiteDialect(SQLiteDatabase(":memory:"))
    task, now = "0" * 24, 1_700_000_500.0
    names = dialect.in_list("name", ["task.type7", "x"])
    for lane in (Lane("default", None, ORG), Lane("default", ORG)):
        conditions = lifecycle_sql.claim_conditions(lane, names, now)
        queue = lifecycle_sql.claim_queue(conditions, 5)
        yield "claim", *dialect.claim_statement(queue, lifecycle_sql.claim_set("w1", 30.0, now))
    yield "lanes", *lifecycle_sql.lane_orgs("default", "", 1000)
    yield "next due", lifecycle_sql.NEXT_DUE, (now,)
    yield "renew", *lifecycle_sql.renew([(task, 1), ("1" * 24, 2)], 30.0, now)
    yield "cancel", *lifecycle_sql.cancel(task, ORG, "0" * 24, USER, now)
    fenced = {
        "finish": lifecycle_sql.finish(task, 1, now),
        "fail": lifecycle_sql.fail(task, 1, "boom", now),
        "stop": lifecycle_sql.stop(task, 1, now),
        "retry": lifecycle_sql.retry(task, 1, now, now),
        "release": lifecycle_sql.release(task, 1, now),
        "expire": lifecycle_sql.expire(now, "lost"),
    }
    for verb, moves in fenced.items():
        for (sql, args), _record in moves:  # the record reads the moved rows by key
            yield verb, sql, args
    for sql, args in lifecycle_sql.progress(task, 1, 1, 2, now):
        yield "progress", sql, args
    yield from _flow_statements(dialect, now)


def _flow_statements(
    dialect: SQLiteDialect, now: float
) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
    """The limited claim's own statements (issue 14, storage/flow_sql.py)."""
    names = dialect.in_list("name", ["task.type7", "x"])
    skip = flow_sql.open_keys([("task.type7", "customer1"), ("x", "y")])
    yield (
        "limited claim",
        *flow_sql.limited_queue(names, 5, now, skip),
    )
    yield "running", *flow_sql.running(dialect, ["task.type7", "x"])
    rated = {"task.type7": Rate(10, 60.0), "x": Rate(1, 1.0)}
    yield "starts", *flow_sql.starts(rated, now)
    yield "starts", *flow_sql.forget_starts(rated, now)
    set_ = lifecycle_sql.claim_set("w1", 30.0, now)
    yield "claim-ids", *flow_sql.claim(dialect, ["0" * 24, "1" * 24], set_)


def test_lifecycle_statements_use_indexes(plans_db: sqlite3.Connection) -> None:
    """Claims and the lanes read ``tasks_lane``, the next due time ``tasks_claim``, lease
    expiry ``tasks_lease`` (partial indexes: the statements must name their statuses as the
    indexes do), the rest the primary key."""
    report = []
    for verb, sql, args in _lifecycle_statements():
        steps = plan(plans_db, sql, list(args))
        problems = plan_problems(steps, ordered=False)
        wanted = {
            "claim": "tasks_lane",
            "lanes": "tasks_lane",
            "next due": "tasks_claim",
            "limited claim": "tasks_claim",
            "expire": "tasks_lease",
            "running": "tasks_lease",
            "starts": "task_starts_name",
        }.get(verb)
        if wanted and not any(wanted in step for step in steps):
            problems.append(f"does not use {wanted}")
        if problems:
            report.append(f"{verb}: {problems}\n    SQL: {sql}\n    plan: {steps}")
    assert not report, "\n".join(report)


# -- the claim over 100,000 queued tasks of mixed priority, queue, organisation and due time --


@pytest.mark.parametrize(
    "lane",
    [
        Lane("default", None, mixed.ORGS[0]),
        Lane("default", mixed.ORGS[2]),
        Lane("fast", None),
    ],
    ids=["lane in turn", "named lane", "small queue"],
)
def test_claims_read_their_lane_in_order_without_a_temp_b_tree(
    plans_backlog: sqlite3.Connection, lane: Lane
) -> None:
    dialect = SQLiteDialect(SQLiteDatabase(":memory:"))
    now = mixed.NOW
    conditions = lifecycle_sql.claim_conditions(lane, dialect.in_list("name", ["job"]), now)
    queue = lifecycle_sql.claim_queue(conditions, 5)
    sql, args = dialect.claim_statement(queue, lifecycle_sql.claim_set("w1", 30.0, now))
    steps = plan(plans_backlog, sql, list(args))
    assert not plan_problems(steps, ordered=False), steps
    assert not [s for s in steps if "TEMP B-TREE" in s], steps
    lane_reads = [s for s in steps if s.startswith("SEARCH tasks USING INDEX tasks_lane")]
    assert lane_reads and all("(queue=?" in s for s in lane_reads), steps
