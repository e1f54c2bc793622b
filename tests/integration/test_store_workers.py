"""The worker registry and the overview's reads in the storage contract: the same behaviour
on memory, SQLite and PostgreSQL (issue 16)."""

from __future__ import annotations

import dataclasses

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.workers import RunningAttempt, WorkerInfo, WorkerState
from tasktrack.storage.base import Stores, TaskStore
from tests.conftest import ORG_A, ORG_B
from tests.integration.test_store_contract import LEASE, NOW, new_task


def worker(worker_id: str = "host-1:42:abc", beat: float = NOW, **changes: object) -> WorkerInfo:
    info = WorkerInfo(
        id=worker_id,
        host="host-1",
        pid=42,
        started_at=NOW - 100,
        heartbeat_at=beat,
        heartbeat_interval=5.0,
        task_types=("report.build", "mail.send"),
        queues=("default",),
        concurrency=4,
        running=(RunningAttempt("a" * 24, 2, ORG_A, "report.build", NOW - 3.5),),
    )
    return dataclasses.replace(info, **changes)  # type: ignore[arg-type]


async def test_a_heartbeat_registers_every_field_and_a_later_one_replaces_it(
    stores: Stores,
) -> None:
    first = worker()
    await stores.workers.heartbeat(first, forget_before=0)
    assert await stores.workers.workers() == [first]

    later = worker(beat=NOW + 5, running=(), task_types=("mail.send",), concurrency=8)
    await stores.workers.heartbeat(later, forget_before=0)
    assert await stores.workers.workers() == [later]


async def test_deregister_marks_the_worker_stopped_until_it_beats_again(stores: Stores) -> None:
    await stores.workers.heartbeat(worker(), forget_before=0)
    await stores.workers.deregister("host-1:42:abc", NOW + 1)
    (stopped,) = await stores.workers.workers()
    assert stopped.stopped_at == NOW + 1 and stopped.running == ()
    assert stopped.state(NOW + 1) is WorkerState.STOPPED

    await stores.workers.heartbeat(worker(beat=NOW + 2), forget_before=0)
    (again,) = await stores.workers.workers()
    assert again.stopped_at is None and again.state(NOW + 2) is WorkerState.LIVE


async def test_a_heartbeat_forgets_rows_silent_since_before_the_cutoff(stores: Stores) -> None:
    await stores.workers.heartbeat(worker("old", beat=NOW - 4000), forget_before=0)
    await stores.workers.heartbeat(worker("recent", beat=NOW - 60), forget_before=0)
    await stores.workers.heartbeat(worker("me", beat=NOW), forget_before=NOW - 3600)
    assert [w.id for w in await stores.workers.workers()] == ["me", "recent"]
    assert (await stores.workers.workers())[1].state(NOW) is WorkerState.DEAD


async def test_deregistering_an_unknown_worker_changes_nothing(stores: Stores) -> None:
    await stores.workers.deregister("nobody", NOW)
    assert await stores.workers.workers() == []


async def _ended(store: TaskStore, name: str, status: Status, at: float, org: str = ORG_A) -> None:
    """A task of ``name`` that started at ``at - 2`` (ran 2 s) and ended ``status`` at ``at``."""
    task = new_task(org=org, name=name, now=at - 10)
    await store.create(task)
    if status is Status.CANCELLED:
        await store.request_cancel(task.id, Scope(org), task.created_by, at)
        return
    (claimed,) = await store.claim("w1", [name], 1, LEASE, at - 2)
    if status is Status.DONE:
        await store.finish(claimed.id, claimed.attempts, at)
    else:
        await store.fail(claimed.id, claimed.attempts, "boom", at)


async def test_finished_counts_per_bucket_and_status_of_one_organisation(stores: Stores) -> None:
    base = 1_700_000_040.0  # a multiple of 60
    for at, status in [
        (base + 1, Status.DONE),
        (base + 59.9, Status.DONE),
        (base + 60, Status.ERROR),
        (base + 61, Status.CANCELLED),
        (base - 100, Status.DONE),  # before the window
    ]:
        await _ended(stores.tasks, "job", status, at)
    await _ended(stores.tasks, "job", Status.DONE, base + 5, org=ORG_B)

    counts = await stores.stats.finished_counts(ORG_A, base, 60)
    got = sorted((c.bucket, c.status, c.count) for c in counts)
    assert got == [
        (int(base), "done", 2),
        (int(base) + 60, "cancelled", 1),
        (int(base) + 60, "error", 1),
    ]


async def test_done_durations_are_nearest_rank_percentiles_per_type(stores: Stores) -> None:
    store = stores.tasks
    for i in range(1, 11):  # "job" ran 1..10 s
        task = new_task(name="job", now=NOW + i)
        await store.create(task)
        (claimed,) = await store.claim("w1", ["job"], 1, LEASE, NOW + 100)
        await store.finish(claimed.id, claimed.attempts, NOW + 100 + i)
    await _ended(store, "other", Status.DONE, NOW + 200)
    await _ended(store, "other", Status.ERROR, NOW + 201)  # failures are not counted
    await _ended(store, "job", Status.DONE, NOW + 300, org=ORG_B)  # another organisation

    stats = {d.name: d for d in await stores.stats.done_durations(ORG_A, NOW)}
    job = stats["job"]
    assert (job.count, job.p50, job.p90, job.p99, job.max) == (10, 5.0, 9.0, 10.0, 10.0)
    other = stats["other"]
    assert (other.count, other.p50, other.max) == (1, 2.0, 2.0)
    assert await stores.stats.done_durations(ORG_A, NOW + 1000) == []


async def test_unfinished_counts_per_organisation(stores: Stores) -> None:
    store = stores.tasks
    for i in range(3):
        await store.create(new_task(now=NOW + i))
    await store.create(new_task(org=ORG_B, now=NOW + 5))
    await store.claim("w0", ["job"], 1, LEASE, NOW + 10)  # w1 starts its own rotation below
    await _ended(store, "job", Status.DONE, NOW + 20)

    counts = await stores.stats.unfinished_counts()
    assert counts[ORG_A] == {Status.QUEUED: 2, Status.ACTIVE: 1}
    assert counts[ORG_B] == {Status.QUEUED: 1}
