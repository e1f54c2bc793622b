"""The storage contract for attempts (issue 13): every move that ends an attempt records it,
atomically and only if the move happened; progress restarts at 0 for each attempt."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.domain.history import Attempt, Outcome
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.errors import LeaseLost
from tasktrack.storage.base import Stores, TaskStore
from tests.conftest import ORG_A, ORG_B, USER_A
from tests.integration.test_store_contract import LEASE, NOW, claim_one, new_task


async def _attempts(store: TaskStore, task_id: str) -> list[Attempt]:
    found = await store.attempts(task_id, Scope(ORG_A))
    assert found is not None
    return found


def _summary(attempts: list[Attempt]) -> list[tuple[int, Outcome, str]]:
    return [(a.number, a.outcome, a.reason) for a in attempts]


async def test_a_queued_task_has_no_attempts(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    assert await _attempts(stores.tasks, task.id) == []


async def test_running_attempt_is_read_from_the_task(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await claim_one(stores.tasks, NOW + 1)
    (running,) = await _attempts(stores.tasks, task.id)
    assert running == Attempt(task.id, 1, "w1", NOW + 1, None, Outcome.RUNNING)
    assert running.duration is None


async def test_finish_records_done_with_worker_start_and_end(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await claim_one(stores.tasks, NOW + 1)
    await stores.tasks.finish(task.id, 1, NOW + 3.5)
    (done,) = await _attempts(stores.tasks, task.id)
    assert done == Attempt(task.id, 1, "w1", NOW + 1, NOW + 3.5, Outcome.DONE, "")
    assert done.duration == pytest.approx(2.5)


async def test_retry_then_fail_records_each_attempt_in_order(stores: Stores) -> None:
    task = await stores.tasks.create(new_task(max_attempts=3))
    await claim_one(stores.tasks, NOW)
    await stores.tasks.retry(task.id, 1, NOW + 1, NOW + 1, reason="boom 1")
    await claim_one(stores.tasks, NOW + 2)
    await stores.tasks.fail(task.id, 2, "timed out after 1s", NOW + 3, outcome=Outcome.TIMEOUT)
    assert _summary(await _attempts(stores.tasks, task.id)) == [
        (1, Outcome.ERROR, "boom 1"),
        (2, Outcome.TIMEOUT, "timed out after 1s"),
    ]


async def test_fail_records_error_by_default(stores: Stores) -> None:
    task = await stores.tasks.create(new_task())
    await claim_one(stores.tasks)
    await stores.tasks.fail(task.id, 1, "it broke", NOW + 1)
    assert _summary(await _attempts(stores.tasks, task.id)) == [(1, Outcome.ERROR, "it broke")]


async def test_stop_and_cancelling_retry_record_cancelled(stores: Stores) -> None:
    stopped = await stores.tasks.create(new_task(name="a"))
    retried = await stores.tasks.create(new_task(name="b", max_attempts=3))
    for t in (stopped, retried):
        await claim_one(stores.tasks, NOW, names=(t.name,))
        await stores.tasks.request_cancel(t.id, Scope(ORG_A), USER_A, NOW + 1)
    await stores.tasks.stop(stopped.id, 1, NOW + 2)
    await stores.tasks.retry(retried.id, 1, NOW + 2, NOW + 2, reason="raised")
    assert _summary(await _attempts(stores.tasks, stopped.id)) == [(1, Outcome.CANCELLED, "")]
    (cancelled,) = await _attempts(stores.tasks, retried.id)
    assert cancelled.outcome is Outcome.CANCELLED


async def test_release_records_released_and_cancelling_release_cancelled(stores: Stores) -> None:
    given_back = await stores.tasks.create(new_task(name="a"))
    cancelling = await stores.tasks.create(new_task(name="b"))
    for t in (given_back, cancelling):
        await claim_one(stores.tasks, NOW, names=(t.name,))
    await stores.tasks.request_cancel(cancelling.id, Scope(ORG_A), USER_A, NOW + 1)
    await stores.tasks.release(given_back.id, 1, NOW + 2)
    await stores.tasks.release(cancelling.id, 1, NOW + 2)
    assert _summary(await _attempts(stores.tasks, given_back.id)) == [(1, Outcome.RELEASED, "")]
    (ended,) = await _attempts(stores.tasks, cancelling.id)
    assert ended.outcome is Outcome.CANCELLED


async def test_lapsed_leases_record_lost_and_cancelled(stores: Stores) -> None:
    """The reaper's moves: a retry while attempts remain and the last attempt both record
    LOST with the reason; an expired cancelling task records CANCELLED."""
    again = await stores.tasks.create(new_task(name="a", max_attempts=2))
    last = await stores.tasks.create(new_task(name="b"))
    cancelling = await stores.tasks.create(new_task(name="c"))
    for t in (again, last, cancelling):
        await claim_one(stores.tasks, NOW, names=(t.name,))
    await stores.tasks.request_cancel(cancelling.id, Scope(ORG_A), USER_A, NOW + 1)
    recovered = await stores.tasks.expire_leases(NOW + LEASE + 1, "worker lost")
    assert {t.id: t.status for t in recovered} == {
        again.id: Status.QUEUED,
        last.id: Status.ERROR,
        cancelling.id: Status.CANCELLED,
    }
    for t, outcome in ((again, Outcome.LOST), (last, Outcome.LOST)):
        assert _summary(await _attempts(stores.tasks, t.id)) == [(1, outcome, "worker lost")]
        (lost,) = await _attempts(stores.tasks, t.id)
        assert (lost.worker_id, lost.started_at, lost.ended_at) == ("w1", NOW, NOW + LEASE + 1)
    (ended,) = await _attempts(stores.tasks, cancelling.id)
    assert ended.outcome is Outcome.CANCELLED


async def test_a_refused_move_records_nothing(stores: Stores) -> None:
    task = await stores.tasks.create(new_task(max_attempts=2))
    await claim_one(stores.tasks)
    await stores.tasks.finish(task.id, 1, NOW + 1)
    with pytest.raises(LeaseLost):
        await stores.tasks.fail(task.id, 1, "late", NOW + 2)
    with pytest.raises(LeaseLost):
        await stores.tasks.finish(task.id, 1, NOW + 2)
    with pytest.raises(LeaseLost):
        await stores.tasks.retry(task.id, 1, NOW, NOW + 2)
    assert _summary(await _attempts(stores.tasks, task.id)) == [(1, Outcome.DONE, "")]


async def test_racing_settles_record_one_attempt(stores: Stores) -> None:
    """Concurrent ends of one attempt (a late worker and the reaper): exactly one move
    happens, and exactly one row is recorded."""
    task = await stores.tasks.create(new_task())
    await claim_one(stores.tasks)
    results = await asyncio.gather(
        stores.tasks.finish(task.id, 1, NOW + LEASE + 2),
        stores.tasks.fail(task.id, 1, "x", NOW + LEASE + 2),
        stores.tasks.expire_leases(NOW + LEASE + 2, "worker lost"),
        return_exceptions=True,
    )
    moved = [r for r in results[:2] if not isinstance(r, BaseException)]
    expired = results[2]
    assert isinstance(expired, list)
    assert len(moved) + len(expired) == 1
    assert len(await _attempts(stores.tasks, task.id)) == 1


async def test_attempts_are_scoped_to_the_organisation(stores: Stores) -> None:
    task = await stores.tasks.create(new_task(project="c" * 24))
    assert await stores.tasks.attempts(task.id, Scope(ORG_B)) is None
    assert await stores.tasks.attempts(task.id, Scope(ORG_A, "d" * 24)) is None
    assert await stores.tasks.attempts("f" * 24, Scope(ORG_A)) is None
    assert await stores.tasks.attempts(task.id) == []


async def test_progress_restarts_at_zero_for_each_attempt(stores: Stores) -> None:
    """The ``done 4/4`` bug: steps of a failed attempt carried over into the next."""
    task = await stores.tasks.create(new_task(max_attempts=2, total=3))
    await claim_one(stores.tasks)
    await stores.tasks.record_progress(task.id, 1, 2, 3, NOW)
    queued = await stores.tasks.retry(task.id, 1, NOW, NOW + 1, reason="boom")
    assert (queued.status, queued.current_step, queued.total_step) == (Status.QUEUED, 0, 3)
    again = await claim_one(stores.tasks, NOW + 2)
    assert (again.current_step, again.total_step) == (0, 3)


async def test_claim_resets_progress_left_by_a_lost_attempt(stores: Stores) -> None:
    task = await stores.tasks.create(new_task(max_attempts=2, total=3))
    await claim_one(stores.tasks)
    await stores.tasks.record_progress(task.id, 1, 2, 3, NOW)
    await stores.tasks.expire_leases(NOW + LEASE + 1, "worker lost")
    again = await claim_one(stores.tasks, NOW + LEASE + 2)
    assert (again.attempts, again.current_step, again.total_step) == (2, 0, 3)


async def test_a_sweep_larger_than_a_slice_records_every_attempt(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite records the moved rows' attempts in slices (its parameter limit); shrink the
    slice so that one sweep spans several, and no attempt is left out."""
    from tasktrack.storage.sqlite import dialect

    monkeypatch.setattr(dialect, "MOVED_SLICE", 2)
    tasks = [await stores.tasks.create(new_task(name="s")) for _ in range(5)]
    claimed = await stores.tasks.claim("w1", ["s"], 5, LEASE, NOW)
    assert len(claimed) == 5
    recovered = await stores.tasks.expire_leases(NOW + LEASE + 1, "worker lost")
    assert len(recovered) == 5
    for t in tasks:
        assert _summary(await _attempts(stores.tasks, t.id)) == [(1, Outcome.LOST, "worker lost")]
