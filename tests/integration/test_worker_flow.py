"""Flow control with real worker processes (issue 14, point 4), on SQLite and PostgreSQL.

Four `tasktrack worker` processes (two children each) drain a mixed backlog while the test
samples the running set: no cap is ever exceeded, the capped types do not hold the others
back, and a killed worker's slot comes back once the reaper recovers its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tasktrack.domain.history import Outcome
from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import TERMINAL, Status
from tasktrack.domain.listing import ListQuery, Scope, parse_field_filter
from tasktrack.domain.task import Task
from tasktrack.loader import load_registry
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tests.conftest import ORG_A, USER_A
from tests.helpers import eventually
from tests.integration.worker_procs import WorkerProcess

ALICE = Principal(USER_A, ORG_A)
REGISTRY = load_registry(["tests.apps.flow"])
RUNNING = (parse_field_filter("status", "active,cancelling"),)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/flow.db"
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
def start_worker(db_url: str, tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for w in started:
        w.stop(timeout=10)


def launch(started: list[WorkerProcess], url: str, tmp: Path, *extra: str) -> WorkerProcess:
    log = tmp / f"worker{len(started)}.log"
    worker = WorkerProcess(url, log, "--app", "tests.apps.flow", *extra)
    started.append(worker)
    return worker


class Sampler:
    """Reads the running set over and over, keeping the most of each type and key seen."""

    def __init__(self, db: Stores) -> None:
        self.db = db
        self.peak: Counter[str] = Counter()
        self.peak_keys: Counter[tuple[str, str | None]] = Counter()
        self.peak_total = 0
        self.samples = 0

    async def run(self) -> None:
        while True:
            page = await self.db.tasks.list_page(ListQuery(Scope(ORG_A), RUNNING, limit=100))
            self._take(page.items)
            await asyncio.sleep(0.01)

    def _take(self, running: list[Task]) -> None:
        self.samples += 1
        self.peak_total = max(self.peak_total, len(running))
        self.peak |= Counter(t.name for t in running)
        self.peak_keys |= Counter((t.name, t.concurrency_key) for t in running)


def intervals(log: Path) -> dict[str, list[tuple[str, str, float, float]]]:
    """Per handler kind: (task, key, start, end) from the handlers' own log."""
    starts: dict[str, float] = {}
    out: dict[str, list[tuple[str, str, float, float]]] = {}
    for line in log.read_text().splitlines():
        event, task, kind, key, at = line.split()
        if event == "start":
            starts[task] = float(at)
        else:
            out.setdefault(kind, []).append((task, key, starts[task], float(at)))
    return out


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        level += step
        peak = max(peak, level)
    return peak


async def create(service: TaskService, name: str, n: int, **data: object) -> list[Task]:
    return [await service.create(ALICE, name, dict(data)) for _ in range(n)]


async def all_done(db: Stores, total: int) -> None:
    await eventually(
        db.tasks.count_by_status,
        lambda c: c[Status.DONE] == total,
        timeout=180,
        interval=0.2,
        what=f"{total} done",
    )


async def test_four_workers_never_exceed_a_cap_and_keep_other_types_running(
    db: Stores, service: TaskService, db_url: str, start_worker: list[WorkerProcess], tmp_path: Path
) -> None:
    log = str(tmp_path / "runs.log")
    await create(service, "flow.capped", 12, seconds=0.5, log=log)  # oldest: first in queue
    for customer in ("acme", "globex"):
        await create(service, "flow.keyed", 4, seconds=0.3, customer=customer, log=log)
    rated = await create(service, "flow.rated", 8, seconds=0.05, log=log)
    await create(service, "flow.plain", 24, seconds=0.2, log=log)
    sampler = Sampler(db)
    sampling = asyncio.create_task(sampler.run())
    try:
        for _ in range(4):
            launch(start_worker, db_url, tmp_path, "--concurrency", "2")
        await all_done(db, 12 + 8 + 8 + 24)
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling

    assert sampler.samples > 20
    assert sampler.peak["flow.capped"] == 2
    assert max(n for (name, _), n in sampler.peak_keys.items() if name == "flow.keyed") == 1
    assert sampler.peak_total > 4  # the other types filled the slots the capped one left

    ran = intervals(Path(log))
    assert most_at_once([(s, e) for _, _, s, e in ran["capped"]]) == 2
    for customer in ("acme", "globex"):
        spans = [(s, e) for _, key, s, e in ran["keyed"] if key == customer]
        assert len(spans) == 4 and most_at_once(spans) == 1
    # Plain tasks queued behind the capped backlog did not wait for it: had they, none would
    # end before the last capped task started. Most, not all: on a loaded machine (seen: a
    # third pytest process on 2 cores) the last plain task can end a few ms after it.
    last_capped = max(s for _, _, s, _ in ran["capped"])
    plain_ends = [e for *_, e in ran["plain"]]
    early = [e for e in plain_ends if e < last_capped]
    assert len(early) >= 0.75 * len(plain_ends), (len(early), len(plain_ends))

    starts = sorted(await _claim_times(service, rated))
    assert all(sum(1 for t in starts if first <= t < first + 2.0) <= 4 for first in starts), starts


async def _claim_times(service: TaskService, tasks: list[Task]) -> list[float]:
    out = []
    for task in tasks:
        got = await service.get(ALICE, task.id)
        assert got.attempts == 1 and got.last_run_at is not None
        out.append(got.last_run_at.timestamp())
    return out


async def test_a_killed_workers_slot_comes_back_after_its_lease(
    db: Stores, service: TaskService, db_url: str, start_worker: list[WorkerProcess], tmp_path: Path
) -> None:
    log, started = tmp_path / "runs.log", tmp_path / "started"
    lease = ("--lease-seconds", "1", "--concurrency", "2")
    victim = launch(start_worker, db_url, tmp_path, *lease)
    held = await service.create(
        ALICE, "flow.single", {"hold": True, "started": str(started), "log": str(log)}
    )
    await eventually(lambda: _exists(started), bool, timeout=60, what="attempt 1 running")
    victim.kill_tree()
    waiting = await service.create(ALICE, "flow.single", {"seconds": 0.1, "log": str(log)})
    launch(start_worker, db_url, tmp_path, *lease)
    for task in (held, waiting):
        done = await eventually(
            lambda t=task: service.get(ALICE, t.id),
            lambda t: t.status in TERMINAL,
            timeout=60,
            what="both tasks finished",
        )
        assert done.status is Status.DONE

    attempts = await service.store.attempts(held.id)
    assert attempts is not None
    lost_at = attempts[0].ended_at  # when the reaper took the dead worker's attempt back
    assert lost_at is not None and attempts[0].outcome is Outcome.LOST
    second = await service.get(ALICE, waiting.id)
    assert second.last_run_at is not None
    assert second.last_run_at.timestamp() >= lost_at  # its slot was held until then
    spans = [(s, e) for _, _, s, e in intervals(log)["single"]]
    assert len(spans) == 2 and most_at_once(spans) == 1


async def _exists(path: Path) -> bool:
    return path.exists()
