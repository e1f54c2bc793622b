"""Query plans of the list's total and of cursor pages, on both databases (issue 15 point 5).

A total the counters serve (filters on organisation, project, name, status, free text) must
not read ``tasks`` at all: it reads ``task_counts`` (and on PostgreSQL the pending
``task_count_deltas``). Any other filter still counts ``tasks``, through an index. On
PostgreSQL a cursor page must bound its index range by the leading sort key, as
``test_query_plans`` checks on SQLite, so a page deep in the list costs what the first does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest

from tasktrack.domain.listing import Cursor, ListQuery, Scope, parse_field_filter, parse_sort
from tasktrack.storage.factory import open_stores
from tasktrack.storage.sql import counted, list_sql
from tests.conftest import ORG_A, USER_A

ROWS = 20_000
STATUSES = ("queued", "active", "done", "done", "error", "cancelled")
COUNTED = {
    "no filter": ListQuery(Scope(ORG_A)),
    "project": ListQuery(Scope(ORG_A, "c" * 24)),
    "status": ListQuery(Scope(ORG_A), (parse_field_filter("status", "done"),)),
    "statuses and names": ListQuery(
        Scope(ORG_A),
        (parse_field_filter("status", "queued,active"), parse_field_filter("name", "n1,n2")),
    ),
    "text": ListQuery(Scope(ORG_A), (), "N1"),
}
COUNTED_ROWS = {"createdBy": ListQuery(Scope(ORG_A), (parse_field_filter("createdBy", USER_A),))}


#: The columns the rows below fill; the rest take their defaults (so columns other branches
#: add to ``tasks`` need nothing here).
COLUMNS = (
    "id", "org_id", "project_id", "name", "data", "status", "current_step", "total_step",
    "fail_reason", "last_run_at", "last_finished_at", "created_at", "last_changed",
    "created_by", "last_changed_by", "attempts", "max_attempts", "run_after", "version",
)  # fmt: skip
INSERT = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _rows() -> Iterator[tuple[Any, ...]]:
    for i in range(ROWS):
        status = STATUSES[i % len(STATUSES)]
        row: dict[str, Any] = {
            "id": f"{1_700_000_000 + i // 10:08x}{i:016x}",
            "org_id": ORG_A,
            "project_id": "c" * 24 if i % 4 == 0 else None,
            "name": f"n{i % 10}",
            "data": "{}",
            "status": status,
            "current_step": 0,
            "total_step": 0,
            "fail_reason": "",
            "last_run_at": -1.0,
            "last_finished_at": -1.0,
            "created_at": 1_700_000_000 + i // 10,
            "last_changed": 1_700_000_000 + i // 10,
            "created_by": USER_A,
            "last_changed_by": USER_A,
            "attempts": 0,
            "max_attempts": 1,
            "run_after": 0.0,
            "version": 1,
        }
        yield tuple(row[c] for c in COLUMNS)


# -- SQLite ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    import asyncio

    path = tmp_path_factory.mktemp("counts") / "tasks.db"
    asyncio.run(_create(f"sqlite:///{path}"))
    con = sqlite3.connect(path, isolation_level=None)
    con.create_function("tt_lower", 1, lambda v: v.lower() if isinstance(v, str) else v)
    con.execute("BEGIN")
    con.executemany(INSERT, _rows())
    con.execute("COMMIT")
    yield con
    con.close()


async def _create(url: str) -> None:
    await (await open_stores(url)).close()


def lite_plan(con: sqlite3.Connection, query: ListQuery) -> list[str]:
    _, count_sql, _, args = list_sql(query, lower="tt_lower")
    return [str(r[3]) for r in con.execute(f"EXPLAIN QUERY PLAN {count_sql}", args)]


@pytest.mark.parametrize("label", list(COUNTED))
def test_sqlite_counted_totals_read_the_counters_by_key(
    lite: sqlite3.Connection, label: str
) -> None:
    steps = lite_plan(lite, COUNTED[label])
    assert counted(COUNTED[label])
    assert not [s for s in steps if s.split()[1:2] == ["tasks"]], steps
    assert any(s.startswith("SEARCH task_counts USING PRIMARY KEY") for s in steps), steps


def test_sqlite_other_filters_count_the_tasks_through_an_index(lite: sqlite3.Connection) -> None:
    steps = lite_plan(lite, COUNTED_ROWS["createdBy"])
    assert any(s.startswith(("SEARCH tasks USING", "SCAN tasks USING")) for s in steps), steps
    assert "task_counts" not in " ".join(steps)


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    await _create(pg_url)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as con:
        columns = ", ".join(COLUMNS)
        async with con.cursor() as cur, cur.copy(f"COPY tasks ({columns}) FROM STDIN") as copy:
            for row in _rows():
                await copy.write_row(row)
        await con.execute("VACUUM ANALYZE tasks")
        yield con


async def pg_plan(con: psycopg.AsyncConnection[Any], sql: str, args: list[Any]) -> list[Any]:
    cursor = await con.execute(f"EXPLAIN (FORMAT JSON) {sql.replace('?', '%s')}", args)
    row = await cursor.fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return list(_nodes(plan[0]["Plan"]))


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


async def test_postgres_counted_totals_never_read_tasks(pg: psycopg.AsyncConnection[Any]) -> None:
    for label, query in COUNTED.items():
        _, count_sql, _, args = list_sql(query)
        relations = {n.get("Relation Name") for n in await pg_plan(pg, count_sql, args)}
        assert "tasks" not in relations, label
        assert {"task_counts", "task_count_deltas"} <= relations, (label, relations)
    _, count_sql, _, args = list_sql(COUNTED_ROWS["createdBy"])
    relations = {n.get("Relation Name") for n in await pg_plan(pg, count_sql, args)}
    assert relations - {None} == {"tasks"}


@pytest.mark.parametrize("case", ["no filter", "status", "project"])
async def test_postgres_cursor_pages_bound_the_index_range(
    pg: psycopg.AsyncConnection[Any], case: str
) -> None:
    """A ``next`` page halfway down reads an index whose condition bounds ``created_at``."""
    first = COUNTED[case]
    sort = parse_sort(None)
    cursor = Cursor("next", sort, (1_700_000_000 + ROWS // 20, "f" * 24))
    query = ListQuery(first.scope, first.filters, None, sort, limit=100, cursor=cursor)
    sql, _, args, _ = list_sql(query)
    nodes = await pg_plan(pg, sql, args)
    reads = [n for n in nodes if n.get("Relation Name") == "tasks"]
    assert reads and all("Index" in n["Node Type"] for n in reads), nodes
    assert all("created_at" in n.get("Index Cond", "") for n in reads), reads
