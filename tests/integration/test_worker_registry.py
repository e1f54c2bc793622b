"""A real Worker (handlers in child processes) keeps its registry row, on SQLite and
PostgreSQL (issue 16): registered before it claims, running attempts in its heartbeats,
stopped on a clean shutdown; and the service's view of it per organisation."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.workers import WorkerInfo, WorkerState
from tasktrack.loader import load_registry
from tasktrack.service.tasks import TaskService
from tasktrack.service.workers import WorkerService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tasktrack.worker.worker import Worker, WorkerOptions
from tests.conftest import ORG_A, ORG_B, USER_A, USER_B
from tests.helpers import eventually

ALICE = Principal(USER_A, ORG_A)
BOB = Principal(USER_B, ORG_B)
REGISTRY = load_registry(["tests.apps.handlers"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    url = (
        f"sqlite:///{tmp_path}/w.db"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    stores = await open_stores(url)
    yield stores
    await stores.close()


async def _rows(db: Stores) -> list[WorkerInfo]:
    return await db.workers.workers()


async def test_a_worker_registers_reports_its_attempts_and_deregisters(db: Stores) -> None:
    options = WorkerOptions(
        concurrency=2,
        poll_interval=0.05,
        heartbeat_interval=0.1,
        app_modules=("tests.apps.handlers",),
    )
    worker = Worker(db.tasks, REGISTRY, options, workers=db.workers)
    run = asyncio.create_task(worker.run())
    await eventually(lambda: asyncio.sleep(0, worker.started.is_set()), bool, timeout=60)
    (row,) = await _rows(db)  # registered before it was ready to claim
    assert (row.id, row.host, row.pid) == (worker.id, socket.gethostname(), os.getpid())
    assert row.task_types == tuple(REGISTRY.names()) and row.concurrency == 2
    assert row.queues == ("default",) and row.state(row.heartbeat_at) is WorkerState.LIVE

    service = TaskService(db.tasks, REGISTRY)
    task = await service.create(ALICE, "test.steps", {"steps": 200, "pause": 0.05})
    busy = await eventually(
        lambda: _rows(db), lambda rows: bool(rows[0].running), timeout=30, what="attempt listed"
    )
    (attempt,) = busy[0].running
    assert (attempt.task_id, attempt.attempt, attempt.org_id) == (task.id, 1, ORG_A)

    views = WorkerService(db.workers)
    (mine,) = await views.list(ALICE)
    (theirs,) = await views.list(BOB)
    assert [r.task_id for r in mine.info.running] == [task.id] and mine.running_count == 1
    assert theirs.info.running == () and theirs.running_count == 1
    assert not await views.unserved("test.steps") and await views.unserved("no.such.type")

    worker.stop(force=True)
    await run
    (stopped,) = await _rows(db)
    assert stopped.state(stopped.heartbeat_at) is WorkerState.STOPPED and stopped.running == ()
