"""In-process mode (``TASKTRACK_IN_PROCESS=1``): async handlers run in the worker's own event
loop, on SQLite and PostgreSQL, with the same lifecycle as in child processes: results,
progress, logs, retries, timeouts and shutdown; sync types are left to other workers. (Cancel:
``test_worker.py::test_cooperative_handler_sees_cancel_within_a_second``.)
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from pathlib import Path

import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.worker import Worker
from tests.helpers import eventually
from tests.integration.test_worker import (
    ALICE,
    REGISTRY,
    _read,
    db,
    running_worker,
    service,
    settled,
)

__all__ = ["db", "service"]  # fixtures


async def test_async_handlers_run_in_the_worker_process_to_their_outcomes(
    db: Stores, service: TaskService
) -> None:
    async with running_worker(db, in_process=1):
        steps = await service.create(ALICE, "test.steps", {"steps": 4})
        chatty = await service.create(ALICE, "test.async_chatty", {"succeed_on": 2})
        slow = await service.create(ALICE, "test.async_chatty", {"sleep": 30})
        assert multiprocessing.active_children() == []  # no child process was started
        done = await settled(service, steps)
        retried = await settled(service, chatty)
        timed_out = await settled(service, slow)
    assert (done.status, done.current_step, done.total_step) == (Status.DONE, 4, 4)
    # Attempt 1 failed, attempt 2 returned: a retry, its result, and both attempts' lines.
    assert (retried.status, retried.attempts) == (Status.DONE, 2)
    stored = await db.tasks.get_result(chatty.id)
    assert stored is not None and json.loads(stored.value_json) == {"attempt": 2}
    lines = [line.message for line in await db.tasks.logs(chatty.id)]
    assert "attempt 1 says hello" in lines and "attempt 2 says hello" in lines
    assert any("attempt 1 failed" in line for line in lines)  # the traceback's line
    # Past its 1 s timeout: stopped at its await, error with the reason (not retried).
    assert timed_out.status is Status.ERROR and timed_out.attempts == 1
    assert timed_out.fail_reason == "timed out after 1s"


async def test_shutdown_gives_a_running_in_process_task_back(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    log = tmp_path / "coop.log"
    async with running_worker(db, in_process=1, shutdown_timeout=0.2):
        task = await service.create(ALICE, "test.cooperative", {"log": str(log)})
        await eventually(lambda: _read(log), lambda t: "started" in t, what="handler start")
    back = await service.get(ALICE, task.id)
    assert back.status is Status.QUEUED  # requeued for the next worker, not lost or stuck


async def test_sync_task_types_are_left_to_other_workers(db: Stores, service: TaskService) -> None:
    async with running_worker(db, in_process=1):
        sync = await service.create(ALICE, "test.answer")
        not_sync = await service.create(ALICE, "test.answer_async")
        assert (await settled(service, not_sync)).status is Status.DONE
    assert (await service.get(ALICE, sync.id)).status is Status.QUEUED


def test_an_in_process_worker_with_no_async_type_refuses_to_start(db: Stores) -> None:
    options = WorkerOptions(in_process=1, queues=("fast",))  # only test.fast, a sync type
    with pytest.raises(ValueError, match="only async handlers"):
        Worker(db.tasks, REGISTRY, options)


async def test_an_in_process_handlers_log_line_is_printed_once_and_stored_once(
    db: Stores, service: TaskService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_worker(db, in_process=1):
        task = await service.create(ALICE, "test.async_chatty")
        assert (await settled(service, task)).status is Status.DONE
    # The handler's own logger reaches the process's handlers; the worker must not echo the
    # captured line a second time, as it does for a child's lines.
    printed = [r for r in caplog.records if "attempt 1 says hello" in r.getMessage()]
    assert len(printed) == 1, [r.name for r in printed]
    stored = [line.message for line in await db.tasks.logs(task.id)]
    assert stored.count("attempt 1 says hello") == 1


async def test_an_in_process_worker_warns_while_a_handler_blocks_its_loop(
    db: Stores,
    service: TaskService,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tasktrack.worker.stall.STALL_LIMIT", 0.2)
    caplog.set_level(logging.WARNING, logger="tasktrack.worker")
    async with running_worker(db, in_process=1):
        task = await service.create(ALICE, "test.async_chatty", {"block": 0.8})
        assert (await settled(service, task)).status is Status.DONE
    said = [r.getMessage() for r in caplog.records if r.name == "tasktrack.worker"]
    assert any("event loop has not turned" in m for m in said), said
    assert any("turns again after" in m for m in said), said
