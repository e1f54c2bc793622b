"""The worker's side of a task's log: echo with the task's prefix, batched writes, a bound."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tasktrack.domain.history import LOG_LINES_PER_TASK
from tasktrack.storage.memory import MemoryTaskStore
from tasktrack.worker.task_log import TaskLogger, TaskLogWriter
from tests.integration.test_store_contract import new_task


async def writer(store: MemoryTaskStore, interval: float = 10.0) -> tuple[TaskLogWriter, str]:
    task = await store.create(new_task())
    return TaskLogWriter(store, task.id, "job", 2, interval), task.id


async def test_lines_are_echoed_with_the_task_and_attempt_and_written_once_flushed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    store = MemoryTaskStore()
    log, task_id = await writer(store)
    log.add([(time.time(), "WARNING", "careful"), (time.time(), "STDERR", "oops")], 0)
    echoed = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert echoed == [
        ("tasktrack.task.job", logging.WARNING, f"task {task_id} attempt 2: careful"),
        ("tasktrack.task.job", logging.ERROR, f"task {task_id} attempt 2: oops"),
    ]
    await log.flush()
    stored = await store.logs(task_id)
    assert [(x.attempt, x.level, x.message) for x in stored] == [
        (2, "WARNING", "careful"),
        (2, "STDERR", "oops"),
    ]


async def test_writes_are_coalesced_to_one_per_interval() -> None:
    store = MemoryTaskStore()
    log, task_id = await writer(store, interval=0.2)
    log.add([(time.time(), "INFO", "one")], 0)
    await asyncio.sleep(0.05)  # the first write goes at once
    log.add([(time.time(), "INFO", "two")], 0)
    log.add([(time.time(), "INFO", "three")], 0)
    assert [x.message for x in await store.logs(task_id)] == ["one"]
    await asyncio.sleep(0.3)
    assert [x.message for x in await store.logs(task_id)] == ["one", "two", "three"]
    log.cancel()


async def test_pending_lines_are_bounded_and_the_drop_is_counted() -> None:
    store = MemoryTaskStore()
    log, task_id = await writer(store)
    log._last_write = time.monotonic()  # hold the writes back: everything stays pending
    log.add([(time.time(), "INFO", f"l{i}") for i in range(LOG_LINES_PER_TASK + 30)], 0)
    await log.flush()
    stored = await store.logs(task_id, 0, 2000)
    assert stored[0].message == "… 31 earlier lines dropped"
    assert stored[-1].message == f"l{LOG_LINES_PER_TASK + 29}"


def test_the_workers_own_lines_carry_the_task_and_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    TaskLogger(logging.getLogger("tasktrack.worker"), "6b0b" + "0" * 20, 3).info("hi %d", 5)
    assert caplog.records[-1].getMessage() == f"task 6b0b{'0' * 20} attempt 3: hi 5"


async def test_a_flush_does_not_wait_for_a_pending_write_to_wake() -> None:
    store = MemoryTaskStore()
    log, task_id = await writer(store, interval=30.0)
    log._last_write = time.monotonic()  # the next write would wait the whole interval
    log.add([(time.time(), "INFO", "last")], 0)
    await asyncio.wait_for(log.flush(), 2)
    assert [x.message for x in await store.logs(task_id)] == ["last"]
