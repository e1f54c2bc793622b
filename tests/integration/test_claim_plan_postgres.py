"""A claim on PostgreSQL touches the few rows it takes, however long the queue and whatever
the planner's statistics say.

The statistics are made stale on purpose, as in production after a quiet spell: ``ANALYZE``
runs while the queue is empty, then a burst is queued. With them, PostgreSQL 15 planned the
claim as a bitmap scan that sorts every queued row (5 ms a claim at 10,000 queued; the
benchmark's drain fell from ~560 to ~280 tasks/s). The store's claim runs the same two
statements explained here (built by the same code), in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tasktrack.domain.fairness import Lane
from tasktrack.storage import lifecycle_sql
from tasktrack.storage.dialect import Statement
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres.connection import CLAIM_SETTINGS, PostgresDatabase, with_settings
from tasktrack.storage.postgres.dialect import PostgresDialect, pg_sql
from tasktrack.storage.rows import TASK_COLUMNS
from tests import pg
from tests.integration.backlog import NOW, ORGS, backlog_rows
from tests.integration.test_store_contract import LEASE, new_task

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("pg_claim_plans")]  # one backlog
QUEUED = 3_000


#: A worker's first claim: the default queue's first organisation with queued tasks.
FIRST_LANE = Lane("default", None)


def claim_statement(
    now: float,
    limit: int = 2,
    lane: Lane = FIRST_LANE,
    names: tuple[str, ...] = ("job",),
) -> Statement:
    """The statement the store's claim runs (on a CLAIM_SETTINGS session), as psycopg takes it: by
    default its first try, the lane in turn found inside the statement."""
    dialect = PostgresDialect(PostgresDatabase("postgresql://unused"))
    conditions = lifecycle_sql.claim_conditions(lane, dialect.in_list("name", list(names)), now)
    queue = lifecycle_sql.claim_queue(conditions, limit)
    update_set = lifecycle_sql.claim_set("w1", LEASE, now)
    sql, args = dialect.claim_statement(queue, update_set)
    return pg_sql(sql), args


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def test_claim_reads_the_queue_in_index_order_with_stale_statistics(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("ANALYZE tasks")  # statistics of an empty queue
    stores = await open_stores(pg_url)
    try:
        tasks = [new_task(now=NOW + i / 1000) for i in range(QUEUED)]
        for start in range(0, QUEUED, 100):
            await asyncio.gather(*(stores.tasks.create(t) for t in tasks[start : start + 100]))
    finally:
        await stores.close()

    claim, args = claim_statement(NOW + 60)
    # A session like the store's claim connections; one transaction, rolled back: nothing is
    # claimed.
    with psycopg.connect(with_settings(pg_url, CLAIM_SETTINGS)) as con:
        row = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {claim} ", args).fetchone()
        claimed = con.execute(f"{claim} ", args).fetchall()
        con.rollback()
    assert row is not None
    plan = list(nodes(row[0][0]["Plan"]))
    scans = [n for n in plan if n.get("Relation Name") == "tasks" and "Scan" in n["Node Type"]]
    queue_scan = [n for n in scans if n.get("Index Name") == "tasks_lane" and n["Actual Loops"]]

    assert not [n for n in plan if n["Node Type"] == "Sort"], plan
    assert {n["Node Type"] for n in queue_scan} <= {"Index Scan", "Index Only Scan"}, scans
    # The scan stopped after the rows it locked, instead of reading all 3,000 queued ones
    # (the other scans are the lane's two one-row probes for the organisation in turn).
    assert max(n["Actual Rows"] for n in queue_scan) <= 2
    # The claim itself still takes the oldest queued tasks (the first two went to EXPLAIN).
    assert sorted(r[0] for r in claimed) == sorted(t.id for t in tasks[2:4])


async def test_without_the_claim_index_the_claim_is_slower_but_never_compiled(pg_url: str) -> None:
    # The forbidden sort is priced at 1e10; were it ever unavoidable, that price alone would
    # make PostgreSQL JIT-compile the claim (~80 ms here) on every call. CLAIM_SETTINGS turn
    # JIT off with it.
    stores = await open_stores(pg_url)
    try:
        for i in range(3):
            await stores.tasks.create(new_task(now=NOW + i))
    finally:
        await stores.close()
    claim, args = claim_statement(NOW + 60)
    with psycopg.connect(with_settings(pg_url, CLAIM_SETTINGS)) as con:
        con.execute("DROP INDEX tasks_lane")  # rolled back below
        row = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {claim} ", args).fetchone()
        con.rollback()
    assert row is not None
    explained = row[0][0]
    assert [n["Node Type"] for n in nodes(explained["Plan"]) if n["Node Type"] == "Sort"]
    assert explained["Plan"]["Total Cost"] > 1e9  # priced as a disabled sort ...
    assert "JIT" not in explained  # ... yet not compiled


async def test_the_store_claims_on_sessions_planned_for_claims(pg_url: str) -> None:
    # The plan tests above run the claim on such a session; this ties them to the store's.
    stores = await open_stores(pg_url)
    try:
        db = stores.tasks.dialect.db  # type: ignore[attr-defined]
        async with db.claim_connection() as con:
            settings = await (await con.execute("SHOW enable_sort")).fetchone()
            jit = await (await con.execute("SHOW jit")).fetchone()
        async with db.connection() as con:  # every other statement plans as usual
            usual = await (await con.execute("SHOW enable_sort")).fetchone()
    finally:
        await stores.close()
    assert (settings, jit, usual) == (("off",), ("off",), ("on",))


def test_claim_settings_keep_the_urls_own_options() -> None:
    url = with_settings("postgresql://h/db?options=-c%20search_path%3Dq", CLAIM_SETTINGS)
    assert psycopg.conninfo.conninfo_to_dict(url)["options"] == (
        "-c search_path=q -c enable_sort=off -c jit=off"
    )


# -- 100,000 queued tasks of mixed priority, queue, organisation, type and due time ---------


@pytest.fixture(scope="module")
def backlog_url(pg_template: str) -> Iterator[str]:
    """A database holding :data:`~tests.integration.backlog.ROWS` queued tasks, with the
    statistics of an empty queue (as after a quiet spell)."""
    for url in pg.database_from(pg_template):
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("ANALYZE tasks")
        with psycopg.connect(url) as con, con.cursor() as cur:
            with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:
                for row in backlog_rows():
                    copy.write_row(row)
        yield url


def explain(url: str, statement: Statement, planner: bool = True) -> list[dict[str, Any]]:
    """The plan's nodes, as run (EXPLAIN ANALYZE in a transaction rolled back)."""
    with psycopg.connect(with_settings(url, CLAIM_SETTINGS) if planner else url) as con:
        row = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement[0]}", statement[1]).fetchone()
        con.rollback()
    assert row is not None
    return list(nodes(row[0][0]["Plan"]))


def walked(plan: list[dict[str, Any]]) -> int:
    """Index entries the plan's scans of ``tasks`` read (kept, or removed by a filter)."""
    scans = [n for n in plan if n.get("Relation Name") == "tasks"]
    return sum(
        (n["Actual Rows"] + n.get("Rows Removed by Filter", 0)) * n["Actual Loops"] for n in scans
    )


LANES = {
    "the lane in turn (found in the statement)": Lane("default", None, ORGS[0]),
    "a named lane": Lane("default", ORGS[2]),
    "a small queue beside 99,990 others": Lane("fast", None),
}


@pytest.mark.parametrize("label", list(LANES))
def test_claims_read_their_lane_in_order_without_sorting_the_backlog(
    backlog_url: str, label: str
) -> None:
    plan = explain(backlog_url, claim_statement(NOW, 5, LANES[label], ("job",)))
    assert not [n for n in plan if n["Node Type"] == "Sort"], plan
    scans = [n for n in plan if n.get("Relation Name") == "tasks" and n.get("Index Name")]
    assert {n["Index Name"] for n in scans} <= {"tasks_lane", "tasks_pkey"}, scans
    # Of 100,000 queued tasks, the claim reads a few dozen index entries: its lane's first
    # priority band up to 5 due tasks of its type (stepping over ones not yet due and of
    # other types: about two in three here), plus the probes for the organisation in turn.
    assert walked(plan) < 60, plan


def test_finding_the_lanes_and_the_next_due_time_reads_a_few_entries(backlog_url: str) -> None:
    for statement in (
        lifecycle_sql.lane_orgs("bulk", ORGS[0], 1000),
        (lifecycle_sql.NEXT_DUE, (NOW,)),
    ):
        plan = explain(backlog_url, (pg_sql(statement[0]), statement[1]), planner=False)
        assert not [n for n in plan if n["Node Type"] == "Sort"], plan
        assert walked(plan) <= 10, plan
