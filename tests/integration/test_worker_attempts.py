"""Attempts recorded by real workers (issue 13): each way an attempt ends, and progress that
restarts at 0 for each attempt. (A killed worker: test_worker_killed_attempts.py.)"""

from __future__ import annotations

from pathlib import Path

from tasktrack.domain.history import Attempt, Outcome
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tests.conftest import ORG_A
from tests.helpers import eventually
from tests.integration.test_worker import ALICE, _read, db, running_worker, service, settled

__all__ = ["db", "service"]  # fixtures used here


async def _attempts(db: Stores, task_id: str) -> list[Attempt]:
    found = await db.tasks.attempts(task_id, Scope(ORG_A))
    assert found is not None
    return found


def _outcomes(attempts: list[Attempt]) -> list[tuple[int, Outcome, str]]:
    return [(a.number, a.outcome, a.reason) for a in attempts]


async def test_each_way_an_attempt_ends_is_recorded(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    log = tmp_path / "coop.log"
    async with running_worker(db) as worker:
        done = await service.create(ALICE, "test.noop")
        flaky = await service.create(ALICE, "test.flaky", {"succeed_on": 2})
        spun = await service.create(ALICE, "test.spin")
        coop = await service.create(ALICE, "test.cooperative", {"log": str(log)})
        await eventually(lambda: _read(log), lambda text: "started" in text, what="start")
        (running,) = await _attempts(db, coop.id)
        assert (running.outcome, running.worker_id) == (Outcome.RUNNING, worker.id)
        await service.cancel(ALICE, coop.id)
        for task in (done, flaky, spun, coop):
            await settled(service, task)
    assert _outcomes(await _attempts(db, done.id)) == [(1, Outcome.DONE, "")]
    assert _outcomes(await _attempts(db, flaky.id)) == [
        (1, Outcome.ERROR, "attempt 1 failed"),
        (2, Outcome.DONE, ""),
    ]
    assert _outcomes(await _attempts(db, spun.id)) == [(1, Outcome.TIMEOUT, "timed out after 0.5s")]
    (cancelled,) = await _attempts(db, coop.id)
    assert cancelled.outcome is Outcome.CANCELLED
    for a in await _attempts(db, flaky.id):
        assert a.worker_id == worker.id
        assert a.ended_at is not None and a.ended_at >= a.started_at


async def test_progress_restarts_at_zero_for_each_attempt(db: Stores, service: TaskService) -> None:
    """The ``done 4/4`` and ``queued 2/3`` bugs: a failed attempt's steps carried over."""
    async with running_worker(db):
        task = await service.create(ALICE, "test.steps_flaky")
        between = await eventually(
            lambda: service.get(ALICE, task.id),
            lambda t: t.status is Status.QUEUED and t.attempts == 1,
            timeout=20,
            what="queued between attempts",
        )
        assert (between.current_step, between.total_step) == (0, 3)
        final = await settled(service, task)
    assert (final.status, final.current_step, final.total_step) == (Status.DONE, 3, 3)
    assert [a.outcome for a in await _attempts(db, task.id)] == [Outcome.ERROR, Outcome.DONE]
