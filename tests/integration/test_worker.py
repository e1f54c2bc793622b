"""The runtime through real parts: a SQLite file, a Worker, handlers in child processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import TERMINAL, Status
from tasktrack.domain.task import Task
from tasktrack.errors import Conflict
from tasktrack.loader import load_registry
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tasktrack.worker.worker import Worker, WorkerOptions
from tests.conftest import ORG_A, USER_A
from tests.helpers import eventually

ALICE = Principal(USER_A, ORG_A)
REGISTRY = load_registry(["tests.apps.handlers"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/worker.db"
    else:
        url = request.getfixturevalue("pg_url")
    stores = await open_stores(url)
    yield stores
    await stores.close()


@pytest.fixture
def service(db: Stores) -> TaskService:
    return TaskService(db.tasks, REGISTRY)


@contextlib.asynccontextmanager
async def running_worker(db: Stores, **options: Any) -> AsyncIterator[Worker]:
    opts: dict[str, Any] = dict(
        concurrency=2,
        poll_interval=0.1,
        lease_seconds=5.0,
        reaper_interval=0.5,
        cancel_grace=2.0,
        shutdown_timeout=5.0,
        app_modules=("tests.apps.handlers",),
    )
    opts.update(options)
    worker = Worker(db.tasks, REGISTRY, WorkerOptions(**opts))
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


async def settled(service: TaskService, task: Task, timeout: float = 20.0) -> Task:
    return await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.status in TERMINAL,
        timeout,
        what=f"task {task.name} terminal",
    )


async def test_sync_and_async_handlers_run_to_done_with_progress(
    db: Stores, service: TaskService
) -> None:
    async with running_worker(db):
        stepped = await service.create(ALICE, "test.steps", {"steps": 4, "pause": 0.05})
        noop = await service.create(ALICE, "test.noop")
        done = await settled(service, stepped)
        assert (await settled(service, noop)).status is Status.DONE
    assert done.status is Status.DONE
    assert (done.current_step, done.total_step) == (4, 4)
    assert done.last_run_at is not None and done.last_finished_at is not None
    assert done.last_run_at <= done.last_finished_at
    assert done.attempts == 1


async def test_progress_is_visible_while_running(db: Stores, service: TaskService) -> None:
    async with running_worker(db):
        task = await service.create(ALICE, "test.steps", {"steps": 10, "pause": 0.1})
        seen = await eventually(
            lambda: service.get(ALICE, task.id),
            lambda t: t.status is Status.ACTIVE and 0 < t.current_step < 10,
            what="intermediate progress",
        )
        assert seen.total_step == 10
        await settled(service, task)


async def test_tight_step_loop_is_coalesced(db: Stores, service: TaskService) -> None:
    async with running_worker(db):
        task = await service.create(ALICE, "test.tight_loop", {"steps": 300_000})
        done = await settled(service, task, timeout=60)
    assert done.status is Status.DONE and done.current_step == done.total_step == 300_000
    # One write per progress interval, not one per step: version counts every change.
    assert done.version < 100


async def test_failure_records_the_message_not_the_traceback(
    db: Stores, service: TaskService
) -> None:
    async with running_worker(db):
        task = await service.create(ALICE, "test.fail", {"message": "disk full on /data"})
        failed = await settled(service, task)
    assert failed.status is Status.ERROR
    assert failed.fail_reason == "disk full on /data"
    assert failed.last_finished_at is not None


async def test_a_nul_in_the_message_is_escaped_not_lost(db: Stores, service: TaskService) -> None:
    async with running_worker(db):
        task = await service.create(ALICE, "test.fail_nul")
        failed = await settled(service, task)
    assert (failed.status, failed.fail_reason) == (Status.ERROR, "before\\x00after")


async def test_retries_until_success_with_backoff(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    log = tmp_path / "attempts.log"
    async with running_worker(db):
        task = await service.create(ALICE, "test.flaky", {"succeed_on": 3, "log": str(log)})
        done = await settled(service, task)
    assert done.status is Status.DONE and done.attempts == 3
    starts = [float(line.split()[1]) for line in log.read_text().splitlines()]
    assert len(starts) == 3
    # Backoff 0.2 s, doubled: the gaps are at least 0.2 and 0.4 s.
    assert starts[1] - starts[0] >= 0.2 and starts[2] - starts[1] >= 0.4
    assert done.last_run_at is not None and abs(done.last_run_at.timestamp() - starts[2]) < 1


async def test_retries_exhausted_end_in_error(db: Stores, service: TaskService) -> None:
    async with running_worker(db):
        task = await service.create(ALICE, "test.flaky", {"succeed_on": 99})
        failed = await settled(service, task)
    assert failed.status is Status.ERROR and failed.attempts == 3
    assert failed.fail_reason == "attempt 3 failed"


async def test_timeout_stops_a_cpu_bound_handler(db: Stores, service: TaskService) -> None:
    async with running_worker(db):
        task = await service.create(ALICE, "test.spin")
        failed = await settled(service, task)
        assert failed.status is Status.ERROR
        assert failed.fail_reason == "timed out after 0.5s"
        # The slot's process was replaced and runs the next task.
        after = await service.create(ALICE, "test.noop")
        assert (await settled(service, after)).status is Status.DONE


async def test_cancel_queued_never_starts_the_handler(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    task = await service.create(ALICE, "test.noop", {"log": str(log)})
    cancelled = await service.cancel(ALICE, task.id)
    assert cancelled.status is Status.CANCELLED
    async with running_worker(db):
        marker = await service.create(ALICE, "test.noop", {"log": str(log)})
        await settled(service, marker)
    assert log.read_text().split()[0] == marker.id  # only the marker ran
    assert (await service.get(ALICE, task.id)).status is Status.CANCELLED


@pytest.mark.parametrize(
    ("name", "in_process"),
    [("test.cooperative", 0), ("test.cooperative_sync", 0), ("test.cooperative", 1)],
)
async def test_cooperative_handler_sees_cancel_within_a_second(
    db: Stores, service: TaskService, tmp_path: Path, name: str, in_process: int
) -> None:
    """In process (docs/in-process.md) too: the handler is cancelled at its next await."""
    log = tmp_path / "coop.log"
    async with running_worker(db, poll_interval=0.25, in_process=in_process):
        task = await service.create(ALICE, name, {"log": str(log)})
        await eventually(lambda: _read(log), lambda text: "started" in text, what="start")
        requested = await service.cancel(ALICE, task.id)
        assert requested.status is Status.CANCELLING
        asked_at = requested.last_changed
        final = await settled(service, task)
    assert final.status is Status.CANCELLED
    noticed = float(log.read_text().split("cancelled ")[1].split()[0])
    assert noticed - asked_at < 1.0 + 1.0  # last_changed is whole seconds: allow its rounding


async def test_stubborn_handler_is_killed_after_the_grace_period(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    log = tmp_path / "stubborn.log"
    async with running_worker(db, cancel_grace=1.0):
        task = await service.create(ALICE, "test.stubborn", {"log": str(log)})
        await eventually(lambda: _read(log), lambda text: "started" in text, what="start")
        await service.cancel(ALICE, task.id)
        final = await settled(service, task)
        assert final.status is Status.CANCELLED
        after = await service.create(ALICE, "test.noop")
        assert (await settled(service, after)).status is Status.DONE


async def test_cancel_versus_finish_race_never_breaks_the_lifecycle(
    db: Stores, service: TaskService
) -> None:
    outcomes: dict[Status, int] = {}
    async with running_worker(db, poll_interval=0.01):
        tasks = []
        for _ in range(500):
            task = await service.create(ALICE, "test.noop")
            await asyncio.sleep(0.002 * (len(tasks) % 3))  # vary the moment of the cancel
            try:
                tasks.append(await service.cancel(ALICE, task.id))
                conflicts_ok = False
            except Conflict:  # the task finished first: a cancel of a done task is refused
                conflicts_ok = True
                tasks.append(task)
            if conflicts_ok:
                assert (await service.get(ALICE, task.id)).status is Status.DONE
        for task in tasks:
            final = await settled(service, task)
            assert final.status in (Status.DONE, Status.CANCELLED)
            if final.status is Status.DONE:
                assert final.current_step == final.total_step
            outcomes[final.status] = outcomes.get(final.status, 0) + 1
    assert sum(outcomes.values()) == 500
    # Terminal is terminal: nothing moved after settling.
    page_statuses = await db.tasks.count_by_status()
    assert page_statuses[Status.ACTIVE] == page_statuses[Status.CANCELLING] == 0


async def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
