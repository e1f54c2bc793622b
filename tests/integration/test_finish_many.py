"""Finishes committed together run as one statement (storage/postgres/finish_many.py over
arrays, storage/sqlite/finish_many.py over VALUES): on both databases it must leave every
table exactly as one finish at a time does, and keep each attempt's fence."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.task import Task
from tasktrack.errors import LeaseLost
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tasktrack.storage.postgres import dialect as pg_dialect
from tasktrack.storage.sqlite import dialect as sqlite_dialect
from tests.conftest import ORG_A, USER_A
from tests.integration.test_store_contract import LEASE, NOW, new_task


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/finish.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def stores(url: str, merged: list[int]) -> AsyncIterator[Stores]:
    opened = await open_stores(url)
    yield opened
    await opened.close()


@pytest.fixture
def merged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every merged finish built (PostgreSQL) or run (SQLite)."""
    sizes: list[int] = []
    for module in (pg_dialect, sqlite_dialect):
        real = module.finish_many

        def spy(*args: Any, real: Callable[..., Any] = real) -> Any:
            built = real(*args)  # SQLite's runs it here: a merge that failed is not counted
            sizes.append(len(args[-1]))
            return built

        monkeypatch.setattr(module, "finish_many", spy)
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


def _rows(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of ``sql`` (``?`` placeholders) as dicts, read outside the store."""
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, args)]
    with psycopg.connect(url, row_factory=dict_row) as pg:
        return list(pg.execute(sql.replace("?", "%s"), args))


def _state(url: str, task_id: str) -> list[dict[str, Any]]:
    """Everything stored of a task, its id left out (to compare two tasks)."""
    out = []
    for table, key in (("tasks", "id"), ("task_attempts", "task_id"), ("task_results", "task_id")):
        for row in _rows(url, f"SELECT * FROM {table} WHERE {key} = ?", task_id):
            out.append({k: v for k, v in row.items() if k not in (key, "rowid", "id")})
    return out


async def test_finishes_committed_together_store_what_one_at_a_time_stores(
    stores: Stores, url: str, merged: list[int]
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
        assert _state(url, a.id) == _state(url, b.id), f"pair {i}"
        assert finished[i] == await stores.tasks.get(b.id)  # each caller gets its own row
        assert finished[i].status is Status.DONE and finished[i].current_step == 3
    counts = await stores.tasks.count_by_status()  # the counters the triggers keep
    assert counts[Status.DONE] == 16 and counts[Status.ACTIVE] == 0


async def test_a_merged_finish_keeps_each_attempts_fence(
    stores: Stores, url: str, merged: list[int]
) -> None:
    done, stale, cancelling, twice, given_back = await _running(stores, 5)
    await stores.tasks.request_cancel(cancelling.id, Scope(ORG_A), USER_A, NOW + 2)
    await stores.tasks.release(given_back.id, 1, NOW + 2)  # queued again, attempt number 1
    outcomes = await asyncio.gather(
        stores.tasks.finish(done.id, 1, NOW + 3, '"ok"'),
        stores.tasks.finish(stale.id, 2, NOW + 3, '"not mine"'),  # a later attempt's number
        stores.tasks.finish(cancelling.id, 1, NOW + 3),  # it returned: done all the same
        stores.tasks.finish(twice.id, 1, NOW + 3, '"first"'),
        stores.tasks.finish(twice.id, 1, NOW + 3, '"second"'),  # the same key twice
        stores.tasks.finish(given_back.id, 1, NOW + 3),  # its number, but no longer running
        return_exceptions=True,
    )
    assert merged, "the finishes were not merged"
    kinds = ["Task", "LeaseLost", "Task", "Task", "LeaseLost", "LeaseLost"]
    assert [type(o).__name__ for o in outcomes] == kinds
    assert isinstance(outcomes[1], LeaseLost)
    assert (await stores.tasks.get(stale.id)).status is Status.ACTIVE  # untouched
    assert (await stores.tasks.get(given_back.id)).status is Status.QUEUED
    assert (await stores.tasks.get(cancelling.id)).status is Status.DONE
    results = {r["task_id"]: r["value"] for r in _rows(url, "SELECT * FROM task_results")}
    attempts = [r["task_id"] for r in _rows(url, "SELECT task_id FROM task_attempts")]
    assert results == {done.id: '"ok"', twice.id: '"first"'}
    # One record per ended attempt: the three finished, the one given back; none refused.
    assert sorted(attempts) == sorted([done.id, cancelling.id, twice.id, given_back.id])


async def test_a_merged_finish_that_fails_falls_back_to_one_finish_each(
    stores: Stores, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[int] = []

    def broken(*args: Any) -> Any:
        tried.append(len(args[-1]))
        if len(args) == 1:  # PostgreSQL builds the statement: one that fails when it runs
            return "SELECT 1 / 0", ()
        raise sqlite3.OperationalError("injected")  # SQLite runs it: it fails here

    for module in (pg_dialect, sqlite_dialect):
        monkeypatch.setattr(module, "finish_many", broken)
    tasks = await _running(stores, 8)
    finished = await asyncio.gather(*(stores.tasks.finish(t.id, 1, NOW + 3, '"r"') for t in tasks))
    assert tried and max(tried) >= 2, "no merge was tried"
    assert [t.status for t in finished] == [Status.DONE] * 8
    # Each finish ran once on its own: one record and one result per task, none doubled.
    attempts = [r["task_id"] for r in _rows(url, "SELECT task_id FROM task_attempts")]
    results = [r["task_id"] for r in _rows(url, "SELECT task_id FROM task_results")]
    assert sorted(attempts) == sorted(results) == sorted(t.id for t in tasks)
