"""The claim loop's heartbeat, as the worker's readiness check reads it."""

from __future__ import annotations

import asyncio
from typing import cast

from tasktrack.service.registry import TaskRegistry
from tasktrack.storage.memory import MemoryTaskStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.run import Run
from tasktrack.worker.worker import CLAIM_LOOP_STALE, Worker


class _LiveRun:
    live = True


def worker(poll_interval: float = 0.5) -> Worker:
    options = WorkerOptions(concurrency=1, poll_interval=poll_interval, demo=False)
    return Worker(MemoryTaskStore(), TaskRegistry(), options)


async def test_a_worker_that_never_claimed_is_not_ready() -> None:
    check = await worker().readiness_probe()()
    assert (check.name, check.ok, check.detail) == ("claim loop", False, "not started")


async def test_a_recent_claim_is_ready_and_an_old_one_is_not() -> None:
    w = worker()
    # No run outstanding: the claim loop has room, so it must beat.
    now = asyncio.get_running_loop().time()
    w._claimed_at = now - 1.0
    assert (await w.readiness_probe()()).ok
    w._claimed_at = now - CLAIM_LOOP_STALE - 1.0
    assert not (await w.readiness_probe()()).ok


async def test_a_busy_worker_waiting_for_a_child_is_ready() -> None:
    w = worker()
    w._runs["t1"] = cast(Run, _LiveRun())  # its one child runs a task (nothing to claim ahead by)
    w._claimed_at = asyncio.get_running_loop().time() - 3600  # long ago, but every child busy
    assert w.claim_loop_age() == 0.0 and (await w.readiness_probe()()).ok


async def test_a_slow_poll_interval_stretches_the_limit() -> None:
    w = worker(poll_interval=5.0)  # 4 polls: 20 s
    w._claimed_at = asyncio.get_running_loop().time() - 15.0
    assert (await w.readiness_probe()()).ok


class _EndedRun:
    """A run whose task was given back and claimed again under a newer run."""

    live = False

    def __init__(self) -> None:
        self.task = type("T", (), {"id": "t1", "attempts": 1})()

    async def execute(self) -> None:
        return None


async def test_an_old_run_ending_leaves_the_newer_run_of_its_task_watched() -> None:
    w = worker()
    newer = cast(Run, _LiveRun())
    w._runs["t1"] = newer
    await w._execute(cast(Run, _EndedRun()))
    assert w._runs == {"t1": newer}
