"""Scheduling through real worker processes, on SQLite and PostgreSQL (issue 14): a delayed
task starts at its time (woken by a timer, not a poll), a worker serves only its queues, and
one organisation's flood does not keep another's few tasks waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Scope
from tasktrack.domain.task import Task
from tasktrack.loader import load_registry
from tasktrack.service.tasks import Schedule, TaskService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tests.conftest import ORG_A, ORG_B, USER_A, USER_B
from tests.helpers import eventually
from tests.integration.worker_procs import WorkerProcess

ALICE = Principal(USER_A, ORG_A)
BOB = Principal(USER_B, ORG_B)
REGISTRY = load_registry(["tests.apps.handlers"])
#: Each worker's idle poll: long, so that only the due-time timer (and, on PostgreSQL,
#: LISTEN/NOTIFY) can explain a delayed task starting on time.
POLL = {"sqlite": 3.0, "postgres": 30.0}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/sched.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Stores]:
    stores = await open_stores(db_url)
    yield stores
    await stores.close()


@pytest.fixture
def service(db: Stores) -> TaskService:
    return TaskService(db.tasks, REGISTRY)


@pytest.fixture
def start_worker(db_url: str, tmp_path: Path) -> Iterator[object]:
    started: list[WorkerProcess] = []

    def start(*extra: str) -> WorkerProcess:
        log = tmp_path / f"worker{len(started)}.log"
        worker = WorkerProcess(db_url, log, *extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10)


async def ready(worker: WorkerProcess) -> None:
    async def log() -> str:
        return worker.text()

    await eventually(log, lambda text: " ready: " in text, timeout=60, what="worker ready")


async def finished(service: TaskService, who: Principal, task_id: str) -> Task:
    return await eventually(
        lambda: service.get(who, task_id),
        lambda t: t.status is Status.DONE,
        timeout=60,
        interval=0.1,
        what=f"task {task_id} done",
    )


async def test_delayed_tasks_start_at_their_time_woken_by_a_timer(
    backend: str, service: TaskService, start_worker: object, tmp_path: Path
) -> None:
    poll = POLL[backend]
    worker = start_worker("--poll-interval", str(poll))  # type: ignore[operator]
    await ready(worker)
    # On SQLite another process's insert wakes nobody: the worker sees these at its next
    # poll, then sleeps until each is due; so they fall due after that poll. On PostgreSQL
    # the insert's NOTIFY wakes the worker at once, which then sleeps until each is due.
    after = poll if backend == "sqlite" else 0.0
    delays = [after + 1.0, after + 1.5, after + 2.5]
    made = [
        await service.create(ALICE, "test.noop", {}, schedule=Schedule(delay_seconds=d))
        for d in delays
    ]
    waiting = await service.get(ALICE, made[0].id)
    assert waiting.status is Status.QUEUED and waiting.last_run_at is None
    lateness = []
    for task in made:
        done = await finished(service, ALICE, task.id)
        assert done.last_run_at is not None
        lateness.append(done.last_run_at.timestamp() - task.run_after)
    print(f"{backend}: started {[f'{s:.3f}' for s in lateness]} s after their due times")
    assert all(late >= 0 for late in lateness), lateness  # never before its time
    # Long before the next poll could have woken the worker: a timer did (the 1 s target
    # is measured in bench/, not asserted on a shared machine).
    assert max(lateness) < poll / 2, lateness


async def test_a_worker_serves_only_its_queues(service: TaskService, start_worker: object) -> None:
    plain = [await service.create(ALICE, "test.noop") for _ in range(3)]
    fast = [await service.create(ALICE, "test.fast") for _ in range(3)]
    start_worker("--queue", "fast")  # type: ignore[operator]
    for task in fast:
        await finished(service, ALICE, task.id)
    for task in plain:
        assert (await service.get(ALICE, task.id)).status is Status.QUEUED


async def test_a_flooding_organisation_does_not_delay_another_by_more_than_a_few_rounds(
    backend: str, db: Stores, service: TaskService, start_worker: object
) -> None:
    """Org A queues 3,000 tasks; org B's 10, created once A's run, all start within
    FAIR_BOUND of A's starts (2 workers x 2 children; each claim serves the next lane),
    while most of A's backlog still waits."""
    flood = 3000
    for _ in range(0, flood, 100):
        await asyncio.gather(*(service.create(ALICE, "test.noop") for _ in range(100)))
    for _ in range(2):
        start_worker("--concurrency", "2")  # type: ignore[operator]
    await eventually(
        db.tasks.count_by_status,
        lambda c: c[Status.DONE] >= 20,
        timeout=120,
        what="org A's flood running",
    )
    few = list(await asyncio.gather(*(service.create(BOB, "test.noop") for _ in range(10))))
    # Counted from when all of B's tasks are queued: on a loaded machine the creates alone
    # can take a while, and A's starts meanwhile say nothing about the claim's turns.
    mark = time.time()
    started = [await finished(service, BOB, t.id) for t in few]
    last_b = max(t.last_run_at.timestamp() for t in started if t.last_run_at)
    a_between = await _a_started_between(db, mark, last_b)
    counts = await db.tasks.count_by_status()
    print(f"{backend}: {a_between} of A's tasks started while B's 10 waited")
    # Each worker alternates lanes claim by claim: B's 10 tasks need at most 10 of its
    # turns, and A gets at most one claim (<= 2 tasks) per worker between two of B's.
    assert a_between <= FAIR_BOUND
    assert counts[Status.QUEUED] > flood / 2  # A's backlog was still large


#: Most of org A's tasks that may start between org B's create and B's last start.
FAIR_BOUND = 2 * 2 * (10 + 1)


async def _a_started_between(db: Stores, since: float, until: float) -> int:
    """How many of org A's tasks started in [since, until] (read back from the store)."""
    count, query = 0, ListQuery(Scope(ORG_A), limit=100)
    while True:
        page = await db.tasks.list_page(query)
        for t in page.items:
            ran = t.last_run_at.timestamp() if t.last_run_at else -1
            count += since <= ran <= until
        if page.next_cursor is None:
            return count
        query = ListQuery(Scope(ORG_A), limit=100, cursor=page.next_cursor)
