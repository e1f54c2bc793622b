"""The SQLite files the query-plan tests explain their statements against, built once per
test process (session scope; the plan modules share one xdist group, so once per run).

Each holds 100,000 tasks written straight into a file made by the store (so the schema is the
migrations'), without ``ANALYZE`` (the server never runs it, so this is the planner's view in
production). Building one takes seconds; every plan test only reads it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasktrack.storage.factory import open_stores
from tasktrack.storage.rows import INSERT_TASK, TASK_COLUMNS
from tests.integration import backlog as mixed

#: The xdist group of every module that explains statements against these files.
GROUP = "sqlite_plans"
ROWS = 100_000
ORG = "a" * 24
OTHER_ORG = "b" * 24
USER = "c" * 24
STATUSES = ("queued", "active", "done", "cancelling", "cancelled", "error")


def _rows() -> Iterator[tuple[Any, ...]]:
    base = 1_700_000_000
    for i in range(ROWS):
        status = STATUSES[i % len(STATUSES)]
        ran = status != "queued"
        ended = status in ("done", "cancelled", "error")
        total = i % 11
        row = {
            "id": f"{base + i // 50:08x}{i:016x}",
            "org_id": OTHER_ORG if i % 10 == 9 else ORG,
            "project_id": None if i % 4 else f"{i % 3:024x}",
            "name": f"task.type{i % 50}",
            "data": f'{{"i": {i}}}',
            "status": status,
            "current_step": total if status == "done" else min(i % 5, total),
            "total_step": total,
            "fail_reason": "boom" if status == "error" else "",
            "last_run_at": base + i / 50 + 0.123456 if ran else -1.0,
            "last_finished_at": base + i / 50 + 7.5 if ended else -1.0,
            "created_at": base + i // 50,
            "last_changed": base + i // 50 + i % 7,
            "created_by": USER,
            "last_changed_by": USER,
            "attempts": 1 if ran else 0,
            "max_attempts": 1,
            "run_after": float(base + i // 50),
            "lease_expires_at": base + 3600.0 if status in ("active", "cancelling") else None,
            "worker_id": "w1" if status in ("active", "cancelling") else None,
            "version": 1,
            "rerun_of": None,
            "priority": 0,
            "queue": "default",
            "concurrency_key": f"customer{i % 7}" if i % 3 == 0 else None,
        }
        yield tuple(row[column] for column in TASK_COLUMNS)


def _build(path: Path, rows: Iterable[tuple[Any, ...]]) -> sqlite3.Connection:
    async def create_schema() -> None:
        stores = await open_stores(f"sqlite:///{path}")
        await stores.close()

    asyncio.run(create_schema())
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    con.executemany(INSERT_TASK, rows)
    con.execute("COMMIT")
    return con


@pytest.fixture(scope="session")
def plans_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """:data:`ROWS` tasks of every status, two organisations, fifty names."""
    con = _build(tmp_path_factory.mktemp("plans") / "tasks.db", _rows())
    try:
        assert con.execute("SELECT count(*) FROM tasks").fetchone()[0] == ROWS
        yield con
    finally:
        con.close()


@pytest.fixture(scope="session")
def plans_backlog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """100,000 queued tasks of mixed priority, queue, organisation and due time."""
    con = _build(tmp_path_factory.mktemp("backlog") / "tasks.db", mixed.backlog_rows())
    try:
        yield con
    finally:
        con.close()
