"""Workers as real processes on one SQLite file: exactly-once, crashes, fencing, shutdown."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import TERMINAL, Status
from tasktrack.domain.listing import ListQuery, Scope
from tasktrack.domain.task import Task
from tasktrack.loader import load_registry
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tests.conftest import ORG_A, USER_A
from tests.helpers import eventually
from tests.integration.worker_procs import WorkerProcess

ALICE = Principal(USER_A, ORG_A)
REGISTRY = load_registry(["tests.apps.handlers"])


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/procs.db"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Stores]:
    stores = await open_stores(db_url)
    yield stores
    await stores.close()


@pytest.fixture
def service(db: Stores) -> TaskService:
    return TaskService(db.tasks, REGISTRY)


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> AsyncIterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []

    class Factory(list[WorkerProcess]):
        def start(self, *extra: str) -> WorkerProcess:
            w = WorkerProcess(db_url, tmp_path / f"worker{len(started)}.log", *extra)
            started.append(w)
            return w

    yield Factory()  # type: ignore[misc]
    for w in started:
        w.stop(timeout=10)


async def all_tasks(db: Stores) -> list[Task]:
    out: list[Task] = []
    page = await db.tasks.list_page(ListQuery(Scope(ORG_A), limit=100))
    while True:
        out += page.items
        if page.next_cursor is None:
            return out
        page = await db.tasks.list_page(ListQuery(Scope(ORG_A), limit=100, cursor=page.next_cursor))


async def counts(db: Stores) -> Counter[Status]:
    return Counter({s: n for s, n in (await db.tasks.count_by_status()).items() if n})


async def test_four_workers_run_2000_tasks_exactly_once(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log = tmp_path / "runs.log"
    ids = {(await service.create(ALICE, "test.noop", {"log": str(log)})).id for _ in range(2000)}
    for _ in range(4):
        workers.start("--concurrency", "2")  # type: ignore[attr-defined]
    await eventually(
        lambda: counts(db),
        lambda c: c[Status.DONE] == 2000,
        timeout=240,
        interval=0.2,
        what="2000 done",
    )
    runs = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert set(runs) == ids
    assert max(runs.values()) == 1


async def test_killed_worker_task_runs_again_elsewhere_or_fails_as_lost(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log = tmp_path / "runs.log"
    retryable = await service.create(ALICE, "test.flaky", {"succeed_on": 1, "log": str(log)})
    first = workers.start("--lease-seconds", "1", "--concurrency", "1")  # type: ignore[attr-defined]
    await eventually(
        lambda: service.get(ALICE, retryable.id),
        lambda t: t.status is Status.DONE,
        timeout=60,
        what="warm-up done",
    )

    started, release = tmp_path / "started", tmp_path / "release"
    single = await service.create(
        ALICE, "test.signal_file", {"started": str(started), "release": str(release)}
    )
    await eventually(lambda: _exists(started), bool, timeout=30, what="handler start")
    first.kill_tree()
    assert (await service.get(ALICE, single.id)).status is Status.ACTIVE
    # test.signal_file has one attempt: once the lease lapses the task fails as lost.
    workers.start("--lease-seconds", "1")  # type: ignore[attr-defined]
    lost = await eventually(
        lambda: service.get(ALICE, single.id),
        lambda t: t.status in TERMINAL,
        timeout=30,
        what="lost → error",
    )
    assert lost.status is Status.ERROR
    assert "worker lost" in lost.fail_reason


async def test_killed_worker_retryable_task_reruns_on_another_worker(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log, started = tmp_path / "runs.log", tmp_path / "started"
    victim = workers.start("--lease-seconds", "1", "--concurrency", "1")  # type: ignore[attr-defined]
    task = await service.create(
        ALICE, "test.hold_first", {"started": str(started), "log": str(log)}
    )
    await eventually(lambda: _exists(started), bool, timeout=60, what="attempt 1 running")
    victim.kill_tree()
    workers.start("--lease-seconds", "1")  # type: ignore[attr-defined]
    done = await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.status in TERMINAL,
        timeout=30,
        what="rerun",
    )
    assert done.status is Status.DONE and done.attempts == 2
    assert _lines(log) == [f"start {task.id} 1", f"start {task.id} 2"]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


async def test_healthy_slow_task_is_never_reclaimed(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log = tmp_path / "runs.log"
    workers.start("--lease-seconds", "1")  # type: ignore[attr-defined]
    workers.start("--lease-seconds", "1")  # type: ignore[attr-defined]  # a second reaper
    task = await service.create(ALICE, "test.sleep", {"seconds": 5, "log": str(log)})
    done = await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.status in TERMINAL,
        timeout=60,
        what="slow task",
    )
    assert done.status is Status.DONE and done.attempts == 1
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["start", "finish"]


async def test_fencing_rejects_a_stopped_workers_late_writes(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log = tmp_path / "runs.log"
    first = workers.start("--lease-seconds", "1", "--concurrency", "1")  # type: ignore[attr-defined]
    task = await service.create(ALICE, "test.flaky", {"succeed_on": 1, "log": str(log)})
    await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.status is Status.DONE,
        timeout=60,
        what="warm-up",
    )
    slow = await service.create(ALICE, "test.sleep", {"seconds": 3, "log": str(log)})
    await eventually(
        lambda: _read(log), lambda t: f"start {slow.id} 1" in t, timeout=30, what="attempt 1 start"
    )
    first.signal(signal.SIGSTOP)  # the worker freezes; its child keeps sleeping
    # Give the task one more attempt so another worker may take it once the lease lapses.
    await _allow_second_attempt(db, slow.id)
    second = workers.start("--lease-seconds", "1", "--concurrency", "1")  # type: ignore[attr-defined]
    finished = await eventually(
        lambda: service.get(ALICE, slow.id),
        lambda t: t.status is Status.DONE,
        timeout=60,
        what="second worker finishes",
    )
    assert finished.attempts == 2
    first.signal(signal.SIGCONT)
    await eventually(
        lambda: _read(log),
        lambda t: f"finish {slow.id} 1" in t,
        timeout=30,
        what="first attempt's handler returns",
    )
    await eventually(
        lambda: asyncio.to_thread(first.text),
        lambda t: "lost its lease" in t,
        timeout=30,
        what="fenced write logged",
    )
    after = await service.get(ALICE, slow.id)
    assert after.status is Status.DONE and after.attempts == 2
    assert after.version == finished.version  # the late writes changed nothing
    second.stop()


async def _allow_second_attempt(db: Stores, task_id: str) -> None:
    """Raise max_attempts on the file directly (a test-only lever)."""
    import sqlite3

    path = db.db.path  # type: ignore[attr-defined]

    def bump() -> None:
        con = sqlite3.connect(path, timeout=10)
        with con:
            con.execute("UPDATE tasks SET max_attempts = 2 WHERE id = ?", (task_id,))
        con.close()

    await asyncio.to_thread(bump)


async def test_kill_loop_leaves_nothing_active(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log = tmp_path / "runs.log"
    tasks = [
        await service.create(
            ALICE, "test.sleep", {"seconds": random.uniform(0, 0.05), "log": str(log)}
        )
        for _ in range(200)
    ]
    rng = random.Random(7)
    for _ in range(20):
        w = workers.start("--lease-seconds", "1", "--concurrency", "2")  # type: ignore[attr-defined]
        await asyncio.sleep(rng.uniform(0.3, 1.2))  # a random moment in its life
        w.kill_tree()
    workers.start("--lease-seconds", "1", "--concurrency", "2")  # type: ignore[attr-defined]
    final = await eventually(
        lambda: counts(db),
        lambda c: sum(c[s] for s in TERMINAL) == 200,
        timeout=120,
        interval=0.2,
        what="all terminal",
    )
    assert final[Status.ACTIVE] == final[Status.QUEUED] == final[Status.CANCELLING] == 0
    finishes = Counter()
    for line in log.read_text().splitlines():
        kind, task_id, attempt = line.split()
        if kind == "finish":
            finishes[(task_id, int(attempt))] += 1
    for task in await all_tasks(db):
        if task.status is Status.DONE:
            # The one committed outcome came from an attempt that really finished.
            assert finishes[(task.id, task.attempts)] == 1
        else:
            assert task.status is Status.ERROR and "worker lost" in task.fail_reason
    assert len(tasks) == 200


async def test_sigterm_finishes_running_tasks_then_requeues_the_rest(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    log = tmp_path / "runs.log"
    w = workers.start("--concurrency", "2", "--shutdown-timeout", "1.5")  # type: ignore[attr-defined]
    quick = await service.create(ALICE, "test.sleep", {"seconds": 0.5, "log": str(log)})
    slow = await service.create(ALICE, "test.sleep", {"seconds": 30, "log": str(log)})
    await eventually(
        lambda: _read(log), lambda t: t.count("start") == 2, timeout=60, what="both started"
    )
    w.signal(signal.SIGTERM)
    assert await asyncio.to_thread(w.proc.wait, 30) == 0
    assert (await service.get(ALICE, quick.id)).status is Status.DONE
    requeued = await service.get(ALICE, slow.id)
    assert requeued.status is Status.QUEUED  # given back, not stuck active
    assert requeued.max_attempts == requeued.attempts + 1  # the interrupted run is not spent


async def _exists(path: Path) -> bool:
    return path.exists()


async def _ready(worker: WorkerProcess) -> bool:
    return " ready: " in worker.text()


async def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def test_cancel_keeps_working_while_the_worker_shuts_down(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    log = tmp_path / "coop.log"
    w = workers.start("--shutdown-timeout", "60")  # type: ignore[attr-defined]
    task = await service.create(ALICE, "test.cooperative", {"log": str(log)})
    await eventually(lambda: _read(log), lambda t: "started" in t, timeout=60, what="start")
    w.signal(signal.SIGTERM)  # draining: it would wait up to a minute for the task
    await eventually(
        lambda: asyncio.to_thread(w.text),
        lambda t: "waiting up to" in t,
        timeout=30,
        what="drain begun",
    )
    await service.cancel(ALICE, task.id)
    final = await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.status in TERMINAL,
        timeout=15,
        what="cancelled",
    )
    assert final.status is Status.CANCELLED
    assert await asyncio.to_thread(w.proc.wait, 30) == 0  # and then it exits, well before 60 s


async def test_a_dead_workers_task_is_recovered_within_lease_plus_reaper_interval(
    db: Stores,
    service: TaskService,
    workers: list[WorkerProcess],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    lease, reaper = 2.0, 0.5
    started, log = tmp_path / "started", tmp_path / "runs.log"
    victim = workers.start("--lease-seconds", str(lease), "--concurrency", "1")  # type: ignore[attr-defined]
    task = await service.create(
        ALICE, "test.hold_first", {"started": str(started), "log": str(log)}
    )
    await eventually(lambda: _exists(started), bool, timeout=60, what="attempt 1 running")
    # Only now a second worker, the one that reaps (every 0.5 s): started earlier, it could
    # win the first claim itself and leave the victim nothing to lose.
    reaper_worker = workers.start("--lease-seconds", str(lease), "--reaper-interval", str(reaper))  # type: ignore[attr-defined]
    await eventually(
        lambda: _ready(reaper_worker), bool, timeout=60, what="the reaping worker ready"
    )
    held = await service.get(ALICE, task.id)
    assert held.status is Status.ACTIVE and held.lease_expires_at is not None
    victim.kill_tree()
    left_active = await eventually(
        lambda: service.get(ALICE, task.id),
        lambda t: t.attempts == 2 or t.status in TERMINAL,
        timeout=30,
        interval=0.05,
        what="recovered",
    )
    # Its last heartbeat set lease_expires_at; recovery comes at most a reaper interval later
    # (plus this test's polling and one claim).
    recovered_at = left_active.last_run_at or left_active.last_finished_at
    assert recovered_at is not None
    assert recovered_at.timestamp() - held.lease_expires_at <= reaper + 1.0
