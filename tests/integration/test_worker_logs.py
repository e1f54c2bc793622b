"""Per-task logs through a real worker (handlers in child processes) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from tasktrack.domain.history import LOG_LINES_PER_TASK
from tasktrack.domain.logs import DROPPED_LEVEL
from tasktrack.loader import load_registry
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tasktrack.worker.worker import Worker, WorkerOptions
from tests.helpers import eventually
from tests.integration.test_worker import ALICE, db, settled

__all__ = ["db"]  # the fixture, shared with test_worker

REGISTRY = load_registry(["tests.apps.log_handlers"])
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def service(db: Stores) -> TaskService:
    return TaskService(db.tasks, REGISTRY)


@contextlib.asynccontextmanager
async def _worker(db: Stores) -> AsyncIterator[Worker]:
    options = WorkerOptions(
        concurrency=2,
        poll_interval=0.1,
        lease_seconds=5.0,
        shutdown_timeout=5.0,
        app_modules=("tests.apps.log_handlers",),
    )
    worker = Worker(db.tasks, REGISTRY, options)
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


async def test_logger_lines_are_stored_in_order_with_level_and_attempt(
    db: Stores, service: TaskService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with _worker(db):
        task = await service.create(ALICE, "logs.three")
        await settled(service, task)
    lines = await db.tasks.logs(task.id)
    assert [(x.level, x.message, x.attempt) for x in lines] == [
        ("INFO", "first line", 1),
        ("WARNING", "second line", 1),
        ("ERROR", "third line", 1),
    ]
    echoed = [r.getMessage() for r in caplog.records if r.name == "tasktrack.task.logs.three"]
    assert f"task {task.id} attempt 1: second line" in echoed


async def test_beyond_the_cap_a_marker_and_the_newest_lines(
    db: Stores, service: TaskService
) -> None:
    async with _worker(db):
        task = await service.create(ALICE, "logs.flood")
        await settled(service, task)
    lines = await db.tasks.logs(task.id, 0, 2000)
    assert len(lines) == LOG_LINES_PER_TASK
    assert (lines[0].level, lines[0].message) == (DROPPED_LEVEL, "… 21 earlier lines dropped")
    assert lines[1].message == "flood 21"
    assert lines[-1].message == f"flood {LOG_LINES_PER_TASK + 19}"


async def test_capture_output_stores_printed_lines(db: Stores, service: TaskService) -> None:
    async with _worker(db):
        task = await service.create(ALICE, "logs.print")
        plain = await service.create(ALICE, "logs.uncaptured")
        await settled(service, task)
        await settled(service, plain)
    lines = await db.tasks.logs(task.id)
    assert [(x.level, x.message) for x in lines] == [
        ("STDOUT", "hello from stdout"),
        ("STDERR", "hello from stderr"),
        ("INFO", "and from the logger"),
    ]
    assert [x.message for x in await db.tasks.logs(plain.id)] == ["stored"]


async def test_a_failing_handler_leaves_its_traceback_in_the_log(
    db: Stores, service: TaskService
) -> None:
    async with _worker(db):
        task = await service.create(ALICE, "logs.fails")
        done = await settled(service, task)
    assert done.fail_reason == "boom"
    lines = await db.tasks.logs(task.id)
    assert lines[0].message == "about to fail"
    assert lines[1].level == "ERROR" and "ValueError: boom" in lines[1].message
