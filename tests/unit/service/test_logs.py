"""TaskLogs on the memory store: the cursor, `finished`, the long poll, the organisation."""

from __future__ import annotations

import asyncio
import time

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.logs import LogEntry
from tasktrack.errors import InvalidArgument, NotFound
from tasktrack.loader import load_registry
from tasktrack.service.logs import TaskLogs
from tasktrack.service.tasks import TaskService
from tasktrack.storage.memory import MemoryTaskStore
from tests.conftest import ORG_A, ORG_B, USER_A, USER_B

ALICE = Principal(USER_A, ORG_A)
BOB = Principal(USER_B, ORG_B)


@pytest.fixture
def logs() -> TaskLogs:
    reader = TaskLogs(TaskService(MemoryTaskStore(), load_registry([])))
    reader.poll_interval = 30.0  # a wait that ends early was woken, not polled
    return reader


async def running(logs: TaskLogs) -> tuple[str, int]:
    task = await logs.tasks.create(ALICE, "demo.sleep")
    (claimed,) = await logs.tasks.store.claim("w", ["demo.sleep"], 1, 30.0, time.time())
    return task.id, claimed.attempts


def lines(*messages: str) -> list[LogEntry]:
    return [LogEntry(time.time(), "INFO", m) for m in messages]


async def test_pages_follow_the_cursor_and_finished_waits_for_the_end(logs: TaskLogs) -> None:
    task_id, attempt = await running(logs)
    await logs.tasks.store.append_logs(task_id, attempt, lines("a", "b", "c"))
    page = await logs.read(ALICE, task_id, limit=2)
    assert [x.message for x in page.items] == ["a", "b"] and not page.finished
    page = await logs.read(ALICE, task_id, after=page.next)
    assert [x.message for x in page.items] == ["c"] and not page.finished  # still running
    await logs.tasks.store.finish(task_id, attempt, time.time())
    cut = await logs.read(ALICE, task_id, limit=3)
    assert len(cut.items) == 3 and not cut.finished  # more may follow a full page
    end = await logs.read(ALICE, task_id, after=page.next)
    assert end.items == [] and end.finished and end.next == page.next


async def test_a_wait_answers_as_soon_as_a_line_is_appended(logs: TaskLogs) -> None:
    task_id, attempt = await running(logs)
    reader = asyncio.ensure_future(logs.read(ALICE, task_id, wait=20))
    await asyncio.sleep(0.1)
    assert not reader.done()
    started = time.monotonic()
    await logs.tasks.store.append_logs(task_id, attempt, lines("now"))
    page = await asyncio.wait_for(reader, 5)
    assert [x.message for x in page.items] == ["now"]
    assert time.monotonic() - started < 1


async def test_a_wait_on_a_finished_task_answers_at_once(logs: TaskLogs) -> None:
    task_id, attempt = await running(logs)
    await logs.tasks.store.finish(task_id, attempt, time.time())
    started = time.monotonic()
    page = await logs.read(ALICE, task_id, wait=20)
    assert page.finished and time.monotonic() - started < 1


async def test_a_wait_with_nothing_new_ends_at_the_deadline_empty(logs: TaskLogs) -> None:
    task_id, _ = await running(logs)
    logs.poll_interval = 0.05
    started = time.monotonic()
    page = await logs.read(ALICE, task_id, wait=0.3)
    assert page.items == [] and not page.finished
    assert 0.25 < time.monotonic() - started < 2


async def test_another_organisations_task_is_missing(logs: TaskLogs) -> None:
    task_id, _ = await running(logs)
    with pytest.raises(NotFound):
        await logs.read(BOB, task_id)


@pytest.mark.parametrize(
    ("after", "limit", "wait"), [(-1, 10, 0), (0, 0, 0), (0, 1001, 0), (0, 10, 61), (0, 10, -1)]
)
async def test_out_of_range_arguments_are_refused(
    logs: TaskLogs, after: int, limit: int, wait: float
) -> None:
    task_id, _ = await running(logs)
    with pytest.raises(InvalidArgument):
        await logs.read(ALICE, task_id, after, limit, wait)


async def test_waits_answer_at_their_next_look_once_the_server_is_stopping(
    logs: TaskLogs,
) -> None:
    """A long poll on a log or a task that nothing changes returns, with what is there now,
    once ``stopping`` says so, instead of holding a shutdown up for its whole wait."""
    task_id, _ = await running(logs)
    logs.poll_interval = logs.tasks.wait_poll_interval = 0.05
    stopping = asyncio.Event()
    logs.tasks.stopping = stopping.is_set
    page = asyncio.ensure_future(logs.read(ALICE, task_id, wait=50))
    task = asyncio.ensure_future(logs.tasks.wait_for_change(ALICE, task_id, None, 50))
    await asyncio.sleep(0.2)
    assert not page.done() and not task.done()  # both are waiting
    stopping.set()
    async with asyncio.timeout(5):
        assert (await page).items == []
        assert (await task).id == task_id
