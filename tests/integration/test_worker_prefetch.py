"""Claim-ahead through real parts: tasks a worker holds in hand while its child is busy.

Each test holds tasks the same way: a worker with one child runs a no-op first (so it knows
runs are short and claims ahead), then takes a blocker (which waits for a file) together
with three followers in one claim. The followers are then ``active`` in the worker's hand,
their handlers not started.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tests.helpers import eventually
from tests.integration.test_worker import ALICE, db, running_worker, service, settled

__all__ = ["db", "service"]  # fixtures

HOLDING = dict(concurrency=1, prefetch=8, prefetch_seconds=10.0)


@contextlib.asynccontextmanager
async def holding(
    db: Stores, service: TaskService, tmp_path: Path, **options: object
) -> AsyncIterator[tuple[Task, list[Task]]]:
    """A worker holding three followers while its only child runs the blocker (released
    by :func:`unblock`; at the end of the block the worker stops)."""
    blocker, followers = await seed_held(service, tmp_path)
    async with running_worker(db, **{**HOLDING, **options}):
        await eventually(_exists(tmp_path / "started"), bool, what="blocker started")
        try:
            yield blocker, followers
        finally:
            unblock(tmp_path)


async def seed_held(service: TaskService, tmp_path: Path) -> tuple[Task, list[Task]]:
    """A no-op (so the worker learns runs are short), the blocker, three logged followers."""
    started, release = tmp_path / "started", tmp_path / "release"
    log = str(tmp_path / "runs.log")
    await service.create(ALICE, "test.noop")
    blocker = await service.create(
        ALICE, "test.signal_file", {"started": str(started), "release": str(release)}
    )
    followers = [await service.create(ALICE, "test.noop", {"log": log}) for _ in range(3)]
    return blocker, followers


def unblock(tmp_path: Path) -> None:
    (tmp_path / "release").touch()


def _exists(path: Path) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return path.exists()

    return probe


def _ran(tmp_path: Path) -> list[str]:
    log = tmp_path / "runs.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


async def test_tasks_are_held_in_hand_active_and_then_run(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    async with holding(db, service, tmp_path) as (_, followers):
        for follower in followers:
            held = await service.get(ALICE, follower.id)
            assert (held.status, held.attempts) == (Status.ACTIVE, 1)
        assert _ran(tmp_path) == []  # in hand, not started
        unblock(tmp_path)
        for follower in followers:
            assert (await settled(service, follower)).status is Status.DONE
    # Run in the order they were claimed: the claim's order holds within the worker.
    assert _ran(tmp_path) == [f.id for f in followers]


async def test_a_task_cancelled_in_hand_is_cancelled_at_once_and_never_runs(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    async with holding(db, service, tmp_path) as (blocker, followers):
        await service.cancel(ALICE, followers[1].id)
        cancelled = await settled(service, followers[1])
        # Not after the blocker: it is still running.
        assert (await service.get(ALICE, blocker.id)).status is Status.ACTIVE
        assert cancelled.status is Status.CANCELLED
        unblock(tmp_path)
        for follower in (followers[0], followers[2]):
            assert (await settled(service, follower)).status is Status.DONE
    assert followers[1].id not in _ran(tmp_path)


async def test_shutdown_gives_tasks_in_hand_back_with_their_attempt_unspent(
    db: Stores, service: TaskService, tmp_path: Path
) -> None:
    _, followers = await seed_held(service, tmp_path)
    async with running_worker(db, **HOLDING, shutdown_timeout=0.2) as worker:
        await eventually(_exists(tmp_path / "started"), bool, what="blocker started")
        worker.stop()  # the blocker is never released: it is killed at the deadline
    for follower in followers:
        back = await service.get(ALICE, follower.id)
        # The attempt number (the fencing token) never goes back; the allowance grows.
        assert back.status is Status.QUEUED
        assert back.max_attempts - back.attempts == follower.max_attempts - follower.attempts


async def test_tasks_held_too_long_go_back_for_another_worker(
    db: Stores, service: TaskService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tasktrack.worker.run.HOLD_LIMIT", 0.5)
    async with holding(db, service, tmp_path) as (blocker, followers):
        # A second worker, free: the followers reach it once the first gives them back,
        # and the first holds no more while its child is on long work.
        async with running_worker(db, concurrency=1, prefetch=0):
            for follower in followers:
                assert (await settled(service, follower)).status is Status.DONE
            assert (await service.get(ALICE, blocker.id)).status is Status.ACTIVE
    assert sorted(_ran(tmp_path)) == sorted(f.id for f in followers)
    for follower in followers:
        done = await service.get(ALICE, follower.id)
        assert done.max_attempts - done.attempts == follower.max_attempts - 1  # only its run
