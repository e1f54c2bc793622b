"""The worker is supervised: a store call failing in any of its loops is logged with its
traceback, the loop goes on, and no attempt runs twice (a real SQLite store behind a proxy
that raises on chosen calls)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import TERMINAL, Status
from tasktrack.domain.task import Task
from tasktrack.errors import DatabaseBusy
from tasktrack.loader import load_registry
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores, TaskStore
from tasktrack.storage.factory import open_stores
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.store import SQLiteStores
from tasktrack.worker.worker import Worker, WorkerOptions
from tests.conftest import ORG_A, USER_A
from tests.helpers import eventually
from tests.integration.faulty_store import FaultyStore, InjectedFault
from tests.integration.test_worker_prefetch import HOLDING, seed_held

ALICE = Principal(USER_A, ORG_A)
REGISTRY = load_registry(["tests.apps.handlers"])


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Stores]:
    stores = await open_stores(f"sqlite:///{tmp_path}/supervised.db")
    yield stores
    await stores.close()


@pytest.fixture
def service(db: Stores) -> TaskService:
    return TaskService(db.tasks, REGISTRY)


@pytest.fixture(autouse=True)
def worker_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="tasktrack.worker")
    return caplog


@contextlib.asynccontextmanager
async def worker_on(store: FaultyStore, **options: Any) -> AsyncIterator[Worker]:
    opts: dict[str, Any] = dict(
        concurrency=2,
        poll_interval=0.1,
        lease_seconds=5.0,
        reaper_interval=0.2,
        shutdown_timeout=5.0,
        app_modules=("tests.apps.handlers",),
    )
    worker = Worker(cast(TaskStore, store), REGISTRY, WorkerOptions(**{**opts, **options}))
    run = asyncio.create_task(worker.run())
    await eventually(lambda: _started(worker, run), bool, timeout=60, what="worker start")
    try:
        yield worker
    finally:
        worker.stop()
        await run


async def _started(worker: Worker, run: asyncio.Task[None]) -> bool:
    if run.done():
        run.result()
    return worker.started.is_set()


async def settled(service: TaskService, task: Task, timeout: float = 30.0) -> Task:
    return await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.status in TERMINAL,
        timeout,
        what=f"task {task.name} terminal",
    )


def logged_with_traceback(caplog: pytest.LogCaptureFixture, loop: str) -> bool:
    return any(
        r.getMessage().startswith(f"{loop} failed")
        and r.exc_info is not None
        and isinstance(r.exc_info[1], InjectedFault)
        for r in caplog.records
    )


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_a_failing_claim_is_logged_and_claiming_goes_on(
    db: Stores, service: TaskService, worker_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    task = await service.create(ALICE, "test.noop", {"log": str(log)})
    store = FaultyStore(db.tasks, "claim", times=1)
    async with worker_on(store):
        done = await settled(service, task)
    assert done.status is Status.DONE and done.attempts == 1
    assert lines(log) == [f"{task.id} 1"]
    assert logged_with_traceback(worker_logs, "claim loop")
    assert store.calls["claim"] >= 2


async def test_a_failing_heartbeat_is_logged_and_leases_are_still_renewed(
    db: Stores, service: TaskService, worker_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    store = FaultyStore(db.tasks, "renew_leases", times=2)
    # Lease 2 s, heartbeat every 0.67 s: a task of 3 s survives only if renewals resume.
    async with worker_on(store, lease_seconds=2.0):
        task = await service.create(ALICE, "test.sleep", {"seconds": 3.0, "log": str(log)})
        done = await settled(service, task)
    assert done.status is Status.DONE and done.attempts == 1
    assert lines(log) == [f"start {task.id} 1", f"finish {task.id} 1"]  # ran once
    assert logged_with_traceback(worker_logs, "heartbeat")
    assert store.calls["renew_leases"] > 2


async def test_a_failing_cancel_watch_is_logged_and_still_sees_cancels(
    db: Stores, service: TaskService, worker_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log = tmp_path / "coop.log"
    store = FaultyStore(db.tasks, "statuses", times=1)
    # A 30 s lease: the heartbeat (every 10 s) cannot be what notices the cancel.
    async with worker_on(store, lease_seconds=30.0):
        task = await service.create(ALICE, "test.cooperative", {"log": str(log)})
        await eventually(lambda: _calls(store, "statuses"), lambda n: n >= 2, what="re-watch")
        await service.cancel(ALICE, task.id)
        final = await settled(service, task, timeout=5.0)
    assert final.status is Status.CANCELLED and final.attempts == 1
    assert logged_with_traceback(worker_logs, "cancel watch")


async def test_a_failing_reaper_is_logged_and_recovers_lost_tasks(
    db: Stores, service: TaskService, worker_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log, started = tmp_path / "runs.log", tmp_path / "started"
    task = await service.create(
        ALICE, "test.hold_first", {"started": str(started), "log": str(log)}
    )
    # A worker that died holding attempt 1: its lease lapses at once.
    [held] = await db.tasks.claim("dead-worker", ["test.hold_first"], 1, 0.05, time.time())
    store = FaultyStore(db.tasks, "expire_leases", times=2)
    async with worker_on(store):
        done = await settled(service, task)
    assert held.attempts == 1
    assert done.status is Status.DONE and done.attempts == 2
    assert lines(log) == [f"start {task.id} 2"]  # attempt 1 never ran here; attempt 2 once
    assert logged_with_traceback(worker_logs, "reaper")


async def test_an_attempt_whose_lease_cannot_be_renewed_is_stopped_by_its_worker(
    db: Stores, service: TaskService, worker_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    log, started = tmp_path / "runs.log", tmp_path / "started"
    store = FaultyStore(db.tasks, "renew_leases", times=None)  # the heartbeat never succeeds
    # One child: attempt 2 (after the reaper recovers the task) can only run once the worker
    # has stopped attempt 1, which blocks forever, by itself.
    async with worker_on(store, concurrency=1, lease_seconds=1.5):
        task = await service.create(
            ALICE, "test.hold_first", {"started": str(started), "log": str(log)}
        )
        done = await settled(service, task)
    assert done.status is Status.DONE and done.attempts == 2
    assert lines(log) == [f"start {task.id} 1", f"start {task.id} 2"]
    gave_up = [r.getMessage() for r in worker_logs.records if "was not renewed" in r.getMessage()]
    assert gave_up and f"task {task.id} attempt 1" in gave_up[0]
    # Attempt 1 wrote no outcome: only attempt 2's finish was written.
    assert sum(store.calls[m] for m in ("retry", "fail", "stop", "release")) == 0
    assert store.calls["finish"] == 1


async def _calls(store: FaultyStore, method: str) -> int:
    return store.calls[method]


async def test_an_outcome_refused_by_a_busy_database_is_written_later_not_run_again(
    tmp_path: Path, worker_logs: pytest.LogCaptureFixture
) -> None:
    path, started, release = tmp_path / "busy.db", tmp_path / "started", tmp_path / "release"
    db = SQLiteDatabase(str(path), busy_timeout_ms=100)
    db.upgrade()
    stores = SQLiteStores(db)
    service = TaskService(stores.tasks, REGISTRY)
    other = sqlite3.connect(path, isolation_level=None)  # another process, in effect
    try:
        async with worker_on(FaultyStore(stores.tasks, "none", times=0)):
            data = {"started": str(started), "release": str(release)}
            task = await service.create(ALICE, "test.signal_file", data)
            await eventually(lambda: _exists(started), bool, what="the handler to start")
            other.execute("BEGIN IMMEDIATE")  # holds the write lock past the busy timeout
            release.touch()  # the handler ends; its outcome cannot be written now
            await eventually(lambda: _retries(worker_logs), bool, what="a retried outcome")
            other.execute("COMMIT")
            done = await settled(service, task)
    finally:
        other.close()
        await stores.close()
    # Written once the lock was free: the same attempt, not a second run after its lease.
    assert done.status is Status.DONE and done.attempts == 1


async def _exists(path: Path) -> bool:
    return path.exists()


async def _retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        m
        for r in caplog.records
        if "writing its outcome failed" in (m := r.getMessage()) and "locked" in m
    ]


async def test_a_give_back_refused_by_a_busy_database_is_retried_at_shutdown(
    db: Stores, service: TaskService, tmp_path: Path, worker_logs: pytest.LogCaptureFixture
) -> None:
    _, followers = await seed_held(service, tmp_path)
    faulty = FaultyStore(db.tasks, "release", times=1, fault=DatabaseBusy)
    async with worker_on(faulty, **HOLDING, shutdown_timeout=0.2) as worker:
        await eventually(lambda: _exists(tmp_path / "started"), bool, what="blocker started")
        worker.stop()  # the followers in hand go back; the first give-back meets a busy database
    for follower in followers:
        back = await service.get(ALICE, follower.id)
        # Given back on the retry: queued at once, not `active` until its lease lapses.
        assert back.status is Status.QUEUED
    assert any("giving it back failed" in r.getMessage() for r in worker_logs.records)
