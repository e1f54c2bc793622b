"""The run object's end-of-run rule and lease give-up, with a fake child (no processes)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.service.registry import TaskType
from tasktrack.storage.base import TaskStore
from tasktrack.storage.workers_base import WorkerStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.pool import ChildPool
from tasktrack.worker.process import ChildProcess
from tasktrack.worker.registration import Registration
from tasktrack.worker.run import Run, RunContext
from tests.helpers import eventually


class FakeChild:
    """Records what the run does to its child."""

    def __init__(self) -> None:
        self.kills = 0
        self.cancels: list[str] = []

    def kill(self) -> None:
        self.kills += 1

    def cancel(self, task_id: str) -> None:
        self.cancels.append(task_id)


def make_run(lease_seconds: float = 30.0, cancel_grace: float = 10.0) -> tuple[Run, FakeChild]:
    child = FakeChild()
    options = WorkerOptions(lease_seconds=lease_seconds, cancel_grace=cancel_grace)
    run = _run_in_hand(options)
    run.child = cast(ChildProcess, child)  # as if it had taken an idle child
    return run, child


def _run_in_hand(options: WorkerOptions, pool: ChildPool | None = None) -> Run:
    pool = pool or cast(ChildPool, None)
    ctx = RunContext(cast(TaskStore, None), options, lambda: 0.0, pool, lambda run: None)
    task = cast(Task, _FakeTask())
    task_type = cast(TaskType, None)
    return Run(task, task_type, ctx, asyncio.get_running_loop().time())


class _FakeTask:
    id = "t1"
    name = "test.noop"
    attempts = 1
    status = Status.ACTIVE
    org_id = "o1"
    last_run_at = None


async def test_after_the_end_nothing_touches_the_child() -> None:
    run, child = make_run()
    run.end()
    run.release()  # shutdown drain
    run.observe(Status.CANCELLING)  # a cancel request seen late
    run.lose()  # a lost lease seen late
    run.renewing(asyncio.get_running_loop().time())
    assert (child.kills, child.cancels) == (0, [])
    assert not run.released  # an ended run keeps its outcome
    assert run.cancelling and run.lost  # but what is written still follows the news


async def test_release_of_a_live_run_stops_its_handler() -> None:
    run, child = make_run()
    run.release()
    assert run.released and child.kills == 1
    run.end()


async def test_a_cancel_asks_then_kills_after_the_grace_period() -> None:
    run, child = make_run(cancel_grace=0.05)
    run.observe(Status.CANCELLING)
    assert child.cancels == ["t1"] and child.kills == 0
    await eventually(_value(lambda: child.kills), lambda n: n == 1, what="kill after grace")
    run.end()


async def test_a_lease_that_runs_out_while_renewing_stops_the_handler() -> None:
    run, child = make_run(lease_seconds=0.05)
    run.renewing(asyncio.get_running_loop().time())  # and no answer comes
    await eventually(_value(lambda: child.kills), lambda n: n == 1, what="give up")
    assert run.lost
    run.end()


async def test_a_successful_renewal_keeps_the_handler_running() -> None:
    run, child = make_run(lease_seconds=0.1)
    loop = asyncio.get_running_loop()
    for _ in range(4):
        at = loop.time()
        run.renewing(at)
        run.heartbeat(Status.ACTIVE, at)
        await asyncio.sleep(0.05)
    assert child.kills == 0 and not run.lost
    run.end()


async def test_a_lease_already_past_is_left_to_the_renewal_answer() -> None:
    # The worker was frozen past its lease: the renewal's answer decides, not a timer.
    run, child = make_run(lease_seconds=0.01)
    await asyncio.sleep(0.03)
    run.renewing(asyncio.get_running_loop().time())
    await asyncio.sleep(0.03)
    assert child.kills == 0
    run.heartbeat(None, asyncio.get_running_loop().time())
    assert run.lost and child.kills == 1
    run.end()


def _value(get: Any) -> Any:
    async def probe() -> Any:
        return get()

    return probe


async def test_news_about_a_run_in_hand_stops_its_wait_for_a_child() -> None:
    for news in ("cancel", "lose", "release", "lease"):
        options = WorkerOptions(lease_seconds=0.05)
        run = _run_in_hand(options, ChildPool(options))  # no child ever comes free
        waiting = asyncio.create_task(run._take_child())
        await asyncio.sleep(0)  # it is waiting for a child now
        if news == "cancel":
            run.observe(Status.CANCELLING)
        elif news == "lose":
            run.lose()
        elif news == "release":
            run.release()
        else:
            run.renewing(asyncio.get_running_loop().time())  # no answer: the lease runs out
        # No child to touch (none taken); the wait ends so the handler never starts.
        async with asyncio.timeout(5):
            assert await waiting is False, news  # the wait ended: the handler never starts
        assert run.stop_waiting and run.child is None and run.live and not run.held_out


async def test_the_registry_lists_running_attempts_not_tasks_in_hand() -> None:
    options = WorkerOptions()
    running, _ = make_run()
    in_hand = _run_in_hand(options)
    registration = Registration(cast(WorkerStore, None), options, lambda: 0.0, "w1", ["test.noop"])
    assert len(registration.info([running, in_hand]).running) == 1
    running.end()


async def test_children_go_to_waiting_runs_first_come_first_served() -> None:
    pool = ChildPool(WorkerOptions(concurrency=2))
    first, gone, second = pool.request(), pool.request(), pool.request()
    gone.set_result(None)  # that run stopped waiting: it takes nothing
    a, b, c = (cast(ChildProcess, object()) for _ in range(3))
    pool._put(a)
    pool._put(b)
    assert (first.result(), second.result()) == (a, b)
    pool._put(c)  # nobody waits: it is idle, and the next request has it at once
    now = pool.request()
    assert now.done() and now.result() is c
