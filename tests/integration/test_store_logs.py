"""The per-task log contract: every TaskStore (memory, SQLite, PostgreSQL) behaves the same."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.domain.history import LOG_LINES_PER_TASK, LOG_MESSAGE_MAX_CHARS
from tasktrack.domain.logs import DROPPED_LEVEL, LogEntry
from tasktrack.storage.base import Stores
from tests.integration.test_store_contract import NOW, claim_one, new_task


def entries(n: int, start: int = 0, level: str = "INFO") -> list[LogEntry]:
    return [LogEntry(NOW + i, level, f"line {i}") for i in range(start, start + n)]


async def test_lines_come_back_in_order_with_attempt_level_and_time(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await stores.tasks.append_logs(task.id, 1, [LogEntry(NOW, "INFO", "one")])
    await stores.tasks.append_logs(
        task.id, 2, [LogEntry(NOW + 1.5, "WARNING", "two"), LogEntry(NOW + 2, "ERROR", "ü\x00")]
    )
    lines = await stores.tasks.logs(task.id)
    assert [(x.attempt, x.at, x.level, x.message) for x in lines] == [
        (1, NOW, "INFO", "one"),
        (2, NOW + 1.5, "WARNING", "two"),
        (2, NOW + 2, "ERROR", "ü\\x00"),
    ]
    assert lines[0].seq < lines[1].seq < lines[2].seq
    assert all(x.task_id == task.id for x in lines)


async def test_after_and_limit_page_through_one_tasks_lines(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    other = await stores.tasks.create(new_task())
    await stores.tasks.append_logs(task.id, 1, entries(5))
    await stores.tasks.append_logs(other.id, 1, entries(3))
    first = await stores.tasks.logs(task.id, 0, 2)
    assert [x.message for x in first] == ["line 0", "line 1"]
    rest = await stores.tasks.logs(task.id, first[-1].seq, 100)
    assert [x.message for x in rest] == ["line 2", "line 3", "line 4"]
    assert await stores.tasks.logs(task.id, rest[-1].seq, 100) == []
    assert len(await stores.tasks.logs(other.id)) == 3


async def test_lines_of_a_missing_task_are_dropped(stores: Stores) -> None:
    await stores.tasks.append_logs("f" * 24, 1, entries(2))
    assert await stores.tasks.logs("f" * 24) == []


async def test_a_long_message_is_cut_with_a_marker(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await stores.tasks.append_logs(
        task.id, 1, [LogEntry(NOW, "INFO", "x" * (LOG_MESSAGE_MAX_CHARS + 10))]
    )
    (line,) = await stores.tasks.logs(task.id)
    assert line.message == "x" * LOG_MESSAGE_MAX_CHARS + "… [10 characters cut]"


async def test_beyond_the_cap_the_oldest_go_and_one_marker_stands_in(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await stores.tasks.append_logs(task.id, 1, entries(LOG_LINES_PER_TASK - 1))
    lines = await stores.tasks.logs(task.id, 0, 2000)
    assert len(lines) == LOG_LINES_PER_TASK - 1 and lines[0].message == "line 0"
    await stores.tasks.append_logs(task.id, 2, entries(5, start=LOG_LINES_PER_TASK - 1))
    lines = await stores.tasks.logs(task.id, 0, 2000)
    assert len(lines) == LOG_LINES_PER_TASK
    assert (lines[0].level, lines[0].message) == (DROPPED_LEVEL, "… 5 earlier lines dropped")
    assert lines[1].message == "line 5"
    assert lines[-1].message == f"line {LOG_LINES_PER_TASK + 3}"
    assert [x.seq for x in lines] == sorted(x.seq for x in lines)
    # The count adds up over later appends, and there is still one marker.
    await stores.tasks.append_logs(task.id, 2, entries(7, start=LOG_LINES_PER_TASK + 4))
    lines = await stores.tasks.logs(task.id, 0, 2000)
    assert len(lines) == LOG_LINES_PER_TASK
    assert [x.level for x in lines].count(DROPPED_LEVEL) == 1
    assert lines[0].message == "… 12 earlier lines dropped"
    assert lines[1].message == "line 12"


async def test_one_append_larger_than_the_cap_keeps_the_newest(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await stores.tasks.append_logs(task.id, 1, entries(LOG_LINES_PER_TASK + 50))
    lines = await stores.tasks.logs(task.id, 0, 2000)
    assert len(lines) == LOG_LINES_PER_TASK
    assert lines[0].message == "… 51 earlier lines dropped"
    assert lines[-1].message == f"line {LOG_LINES_PER_TASK + 49}"


@pytest.mark.timeout(10)
async def test_appending_wakes_a_waiter_on_the_task(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    claimed = await claim_one(stores.tasks)
    waiter = asyncio.ensure_future(stores.tasks.wait_changed([task.id], 5.0))
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    await stores.tasks.append_logs(task.id, claimed.attempts, entries(1))
    await waiter
    # PostgreSQL only NOTIFYs for queued/cancelling: there a reader re-reads on its own.
    if type(stores).__name__.startswith("Postgres"):
        return
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_lines_dropped_before_the_store_count_into_the_marker(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await stores.tasks.append_logs(task.id, 1, entries(LOG_LINES_PER_TASK), dropped=40)
    lines = await stores.tasks.logs(task.id, 0, 2000)
    assert len(lines) == LOG_LINES_PER_TASK
    assert lines[0].message == "… 41 earlier lines dropped"
