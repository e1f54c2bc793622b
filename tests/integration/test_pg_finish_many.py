"""Finishes committed together on PostgreSQL run as one statement over arrays
(storage/postgres/finish_many.py): it must leave every table exactly as one finish at a time
does, and keep each attempt's fence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.task import Task
from tasktrack.errors import LeaseLost
from tasktrack.storage.base import Stores
from tasktrack.storage.dialect import Finished, Statement
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres import dialect as pg_dialect
from tasktrack.storage.postgres.finish_many import finish_many
from tests.conftest import ORG_A, USER_A
from tests.integration.test_store_contract import LEASE, NOW, new_task

pytestmark = pytest.mark.postgres


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[Stores]:
    opened = await open_stores(pg_url)
    yield opened
    await opened.close()


@pytest.fixture
def merged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every merged finish statement built."""
    sizes: list[int] = []

    def spy(finished: Sequence[Finished]) -> Statement:
        sizes.append(len(finished))
        return finish_many(finished)

    monkeypatch.setattr(pg_dialect, "finish_many", spy)
    return sizes


async def _running(stores: Stores, n: int) -> list[Task]:
    """``n`` tasks of three steps, created alike and claimed together (attempt 1)."""
    for _ in range(n):
        await stores.tasks.create(new_task(total=3, data={"k": 1}))
    claimed = await stores.tasks.claim("w1", ["job"], n, LEASE, NOW + 1)
    assert len(claimed) == n
    return sorted(claimed, key=lambda t: t.id)


def _result(i: int) -> str | None:
    return None if i % 3 == 0 else f'{{"i": {i}}}'


def _state(pg_url: str, task_id: str) -> tuple[dict[str, Any], ...]:
    """Everything stored of a task, its id left out (to compare two tasks)."""
    with psycopg.connect(pg_url, row_factory=dict_row) as con:
        out = []
        for table, key in (("tasks", "id"), ("task_attempts", "task_id")):
            for row in con.execute(f"SELECT * FROM {table} WHERE {key} = %s", (task_id,)):
                out.append({k: v for k, v in row.items() if k != key})
        result = con.execute(
            "SELECT attempt, value, created_at FROM task_results WHERE task_id = %s", (task_id,)
        ).fetchall()
        return (*out, *result)


async def test_finishes_committed_together_store_what_one_at_a_time_stores(
    stores: Stores, pg_url: str, merged: list[int]
) -> None:
    tasks = await _running(stores, 16)
    alone, together = tasks[:8], tasks[8:]
    for i, task in enumerate(alone):
        await stores.tasks.finish(task.id, 1, NOW + 10 + i * 0.25, _result(i))
    assert merged == []  # each finish arrived alone: its own statement
    finished = await asyncio.gather(
        *(
            stores.tasks.finish(t.id, 1, NOW + 10 + i * 0.25, _result(i))
            for i, t in enumerate(together)
        )
    )
    assert merged and max(merged) >= 2 and sum(merged) <= 8
    for i, (a, b) in enumerate(zip(alone, together, strict=True)):
        assert _state(pg_url, a.id) == _state(pg_url, b.id), f"pair {i}"
        assert finished[i] == await stores.tasks.get(b.id)  # each caller gets its own row
        assert finished[i].status is Status.DONE and finished[i].current_step == 3
    counts = await stores.tasks.count_by_status()  # the counters the triggers keep
    assert counts[Status.DONE] == 16 and counts[Status.ACTIVE] == 0


async def test_a_merged_finish_keeps_each_attempts_fence(
    stores: Stores, pg_url: str, merged: list[int]
) -> None:
    done, stale, cancelling, twice = await _running(stores, 4)
    await stores.tasks.request_cancel(cancelling.id, Scope(ORG_A), USER_A, NOW + 2)
    outcomes = await asyncio.gather(
        stores.tasks.finish(done.id, 1, NOW + 3, '"ok"'),
        stores.tasks.finish(stale.id, 2, NOW + 3, '"not mine"'),  # a later attempt's number
        stores.tasks.finish(cancelling.id, 1, NOW + 3),  # it returned: done all the same
        stores.tasks.finish(twice.id, 1, NOW + 3, '"first"'),
        stores.tasks.finish(twice.id, 1, NOW + 3, '"second"'),  # the same key twice
        return_exceptions=True,
    )
    assert merged, "the finishes were not merged"
    assert [type(o).__name__ for o in outcomes] == [
        "Task",
        "LeaseLost",
        "Task",
        "Task",
        "LeaseLost",
    ]
    assert isinstance(outcomes[1], LeaseLost)
    assert (await stores.tasks.get(stale.id)).status is Status.ACTIVE  # untouched
    assert (await stores.tasks.get(cancelling.id)).status is Status.DONE
    with psycopg.connect(pg_url) as con:
        results = dict(con.execute("SELECT task_id, value FROM task_results").fetchall())
        attempts = con.execute("SELECT task_id FROM task_attempts ORDER BY 1").fetchall()
    assert results == {done.id: '"ok"', twice.id: '"first"'}
    assert sorted(r[0] for r in attempts) == sorted([done.id, cancelling.id, twice.id])
