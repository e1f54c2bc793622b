"""The storage contract: every TaskStore (memory, SQLite, PostgreSQL) behaves the same."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Scope, parse_field_filter, parse_sort
from tasktrack.domain.task import Task
from tasktrack.errors import Conflict, LeaseLost, NotFound
from tasktrack.storage.base import Stores, TaskStore
from tests.conftest import ORG_A, ORG_B, USER_A

NOW = 1_700_000_000.0
LEASE = 30.0


def new_task(
    org: str = ORG_A,
    name: str = "job",
    now: float = NOW,
    max_attempts: int = 1,
    total: int = 0,
    project: str | None = None,
    data: dict[str, object] | None = None,
) -> Task:
    return Task(
        id=new_id(now),
        name=name,
        data=data if data is not None else {"k": [1, "two", None]},
        status=Status.QUEUED,
        org_id=org,
        created_by=USER_A,
        created_at=int(now),
        last_changed=int(now),
        last_changed_by=USER_A,
        total_step=total,
        max_attempts=max_attempts,
        run_after=now,
        project_id=project,
    )


async def claim_one(store: TaskStore, now: float = NOW, names: tuple[str, ...] = ("job",)) -> Task:
    claimed = await store.claim("w1", names, 1, LEASE, now)
    assert len(claimed) == 1
    return claimed[0]


async def test_create_then_get_round_trips_every_field(stores: Stores) -> None:
    task = new_task(data={"nested": {"a": [1, 2.5, True, None, "ü"]}, "x": ""}, project="c" * 24)
    await stores.tasks.create(task)
    assert await stores.tasks.get(task.id) == task


async def test_get_is_scoped_to_the_organisation_and_project(stores: Stores) -> None:
    task = new_task(project="c" * 24)
    await stores.tasks.create(task)
    assert await stores.tasks.get(task.id, Scope(ORG_A)) == task
    assert await stores.tasks.get(task.id, Scope(ORG_A, "c" * 24)) == task
    assert await stores.tasks.get(task.id, Scope(ORG_B)) is None
    assert await stores.tasks.get(task.id, Scope(ORG_A, "d" * 24)) is None
    assert await stores.tasks.get(new_id()) is None


async def test_duplicate_id_is_a_conflict(stores: Stores) -> None:
    task = new_task()
    await stores.tasks.create(task)
    with pytest.raises(Conflict):
        await stores.tasks.create(task)


async def test_concurrent_creates_each_land_and_a_duplicate_among_them_fails_alone(
    stores: Stores,
) -> None:
    # Creates may share a commit (SQLite's writer, PostgreSQL's group commit): one that
    # fails must fail alone, and every other must be stored whole.
    first = new_task()
    await stores.tasks.create(first)
    batch = [new_task(now=NOW + i, data={"i": i}) for i in range(1, 31)]
    creates = [*batch[:15], first, *batch[15:]]
    results = await asyncio.gather(
        *(stores.tasks.create(t) for t in creates), return_exceptions=True
    )
    assert isinstance(results[15], Conflict)
    assert [r for i, r in enumerate(results) if i != 15] == batch
    assert [await stores.tasks.get(t.id) for t in batch] == batch


async def test_claim_takes_oldest_runnable_and_fences_with_attempt(stores: Stores) -> None:
    first, second = new_task(now=NOW), new_task(now=NOW + 1)
    later = new_task(now=NOW).evolve(run_after=NOW + 100)
    other = new_task(name="other")
    for t in (second, first, later, other):
        await stores.tasks.create(t)
    claimed = await stores.tasks.claim("w1", ["job"], 10, LEASE, NOW + 2)
    assert [t.id for t in claimed] == [first.id, second.id]
    for t in claimed:
        assert t.status is Status.ACTIVE
        assert t.attempts == 1
        assert t.worker_id == "w1"
        assert t.lease_expires_at == NOW + 2 + LEASE
        assert t.last_run_at is not None and t.last_run_at.timestamp() == NOW + 2
    assert await stores.tasks.claim("w2", ["job"], 10, LEASE, NOW + 2) == []


async def test_claim_respects_limit_and_empty_names(stores: Stores) -> None:
    for _ in range(3):
        await stores.tasks.create(new_task())
    assert await stores.tasks.claim("w", [], 5, LEASE, NOW) == []
    assert len(await stores.tasks.claim("w", ["job"], 2, LEASE, NOW)) == 2
    assert len(await stores.tasks.claim("w", ["job"], 2, LEASE, NOW)) == 1


async def test_progress_then_finish(stores: Stores) -> None:
    await stores.tasks.create(new_task(total=4))
    t = await claim_one(stores.tasks)
    assert await stores.tasks.record_progress(t.id, 1, 2, 4, NOW + 1) is Status.ACTIVE
    got = await stores.tasks.get(t.id)
    assert got is not None and (got.current_step, got.total_step) == (2, 4)
    # A handler may raise totalStep; currentStep never passes it.
    await stores.tasks.record_progress(t.id, 1, 9, 4, NOW + 2)
    got = await stores.tasks.get(t.id)
    assert got is not None and (got.current_step, got.total_step) == (9, 9)
    done = await stores.tasks.finish(t.id, 1, NOW + 3)
    assert done.status is Status.DONE
    assert done.current_step == done.total_step == 9
    assert done.last_finished_at is not None and done.last_finished_at.timestamp() == NOW + 3
    assert done.last_changed == int(NOW + 3)
    assert done.lease_expires_at is None


async def test_fail_records_reason(stores: Stores) -> None:
    await stores.tasks.create(new_task())
    t = await claim_one(stores.tasks)
    failed = await stores.tasks.fail(t.id, 1, "boom: it broke", NOW + 1)
    assert (failed.status, failed.fail_reason) == (Status.ERROR, "boom: it broke")


async def test_stale_attempt_writes_are_refused(stores: Stores) -> None:
    await stores.tasks.create(new_task(max_attempts=3))
    t = await claim_one(stores.tasks)
    await stores.tasks.retry(t.id, 1, NOW, NOW)
    again = await claim_one(stores.tasks, NOW + 1)
    assert again.attempts == 2
    for write in (
        stores.tasks.record_progress(t.id, 1, 1, 1, NOW + 2),
        stores.tasks.finish(t.id, 1, NOW + 2),
        stores.tasks.fail(t.id, 1, "x", NOW + 2),
        stores.tasks.retry(t.id, 1, NOW, NOW + 2),
        stores.tasks.release(t.id, 1, NOW + 2),
        stores.tasks.stop(t.id, 1, NOW + 2),
    ):
        with pytest.raises(LeaseLost):
            await write
    assert await stores.tasks.renew_leases("w1", [(t.id, 1)], LEASE, NOW + 2) == {}
    finished = await stores.tasks.finish(t.id, 2, NOW + 3)
    assert finished.status is Status.DONE


async def test_terminal_tasks_refuse_every_write(stores: Stores) -> None:
    await stores.tasks.create(new_task())
    t = await claim_one(stores.tasks)
    await stores.tasks.finish(t.id, 1, NOW)
    with pytest.raises(LeaseLost):
        await stores.tasks.fail(t.id, 1, "late", NOW)
    with pytest.raises(Conflict):
        await stores.tasks.request_cancel(t.id, Scope(ORG_A), USER_A, NOW)
    got = await stores.tasks.get(t.id)
    assert got is not None and got.status is Status.DONE


async def test_retry_requeues_with_backoff(stores: Stores) -> None:
    await stores.tasks.create(new_task(max_attempts=2))
    t = await claim_one(stores.tasks)
    queued = await stores.tasks.retry(t.id, 1, NOW + 10, NOW + 1)
    assert queued.status is Status.QUEUED
    assert await stores.tasks.claim("w", ["job"], 1, LEASE, NOW + 5) == []
    assert (await claim_one(stores.tasks, NOW + 10)).attempts == 2


async def test_cancel_queued_is_immediate(stores: Stores) -> None:
    task = new_task()
    await stores.tasks.create(task)
    cancelled = await stores.tasks.request_cancel(task.id, Scope(ORG_A), "9" * 24, NOW + 5)
    assert cancelled.status is Status.CANCELLED
    assert cancelled.last_changed_by == "9" * 24
    assert cancelled.last_finished_at is not None
    assert await stores.tasks.claim("w", ["job"], 1, LEASE, NOW + 6) == []
    # Asking again is harmless and changes nothing.
    again = await stores.tasks.request_cancel(task.id, Scope(ORG_A), USER_A, NOW + 7)
    assert again == cancelled


async def test_cancel_active_goes_through_cancelling(stores: Stores) -> None:
    await stores.tasks.create(new_task(max_attempts=3))
    t = await claim_one(stores.tasks)
    assert (await stores.tasks.request_cancel(t.id, Scope(ORG_A), USER_A, NOW)).status is (
        Status.CANCELLING
    )
    assert await stores.tasks.record_progress(t.id, 1, 0, 0, NOW) is Status.CANCELLING
    assert await stores.tasks.renew_leases("w1", [(t.id, 1)], LEASE, NOW) == {
        t.id: Status.CANCELLING
    }
    # A cancel request stops retries: a retry of a cancelling task ends it cancelled.
    assert (await stores.tasks.retry(t.id, 1, NOW, NOW)).status is Status.CANCELLED


async def test_cancelling_task_that_finishes_ends_done(stores: Stores) -> None:
    await stores.tasks.create(new_task())
    t = await claim_one(stores.tasks)
    await stores.tasks.request_cancel(t.id, Scope(ORG_A), USER_A, NOW)
    assert (await stores.tasks.finish(t.id, 1, NOW)).status is Status.DONE


async def test_stop_ends_cancelling_as_cancelled(stores: Stores) -> None:
    await stores.tasks.create(new_task())
    t = await claim_one(stores.tasks)
    with pytest.raises(LeaseLost):
        await stores.tasks.stop(t.id, 1, NOW)  # not cancelling yet
    await stores.tasks.request_cancel(t.id, Scope(ORG_A), USER_A, NOW)
    assert (await stores.tasks.stop(t.id, 1, NOW)).status is Status.CANCELLED


async def test_cancel_is_scoped(stores: Stores) -> None:
    task = new_task()
    await stores.tasks.create(task)
    with pytest.raises(NotFound):
        await stores.tasks.request_cancel(task.id, Scope(ORG_B), USER_A, NOW)
    got = await stores.tasks.get(task.id)
    assert got is not None and got.status is Status.QUEUED


async def test_release_requeues_without_spending_an_attempt(stores: Stores) -> None:
    await stores.tasks.create(new_task(max_attempts=1))
    t = await claim_one(stores.tasks)
    released = await stores.tasks.release(t.id, 1, NOW)
    assert released.status is Status.QUEUED
    again = await claim_one(stores.tasks)
    assert again.attempts == 2 and again.max_attempts == 2


async def test_expired_leases_are_recovered(stores: Stores) -> None:
    retryable, final, cancelling, healthy = (new_task(max_attempts=2) for _ in range(4))
    final = final.evolve(max_attempts=1)
    for t in (retryable, final, cancelling, healthy):
        await stores.tasks.create(t)
    await stores.tasks.claim("w", ["job"], 4, LEASE, NOW)
    await stores.tasks.request_cancel(cancelling.id, Scope(ORG_A), USER_A, NOW)
    await stores.tasks.renew_leases("w", [(healthy.id, 1)], LEASE * 3, NOW + LEASE)
    recovered = {t.id: t for t in await stores.tasks.expire_leases(NOW + LEASE + 1, "worker lost")}
    assert set(recovered) == {retryable.id, final.id, cancelling.id}
    assert recovered[retryable.id].status is Status.QUEUED
    assert recovered[final.id].status is Status.ERROR
    assert recovered[final.id].fail_reason == "worker lost"
    assert recovered[cancelling.id].status is Status.CANCELLED
    got = await stores.tasks.get(healthy.id)
    assert got is not None and got.status is Status.ACTIVE
    assert await stores.tasks.expire_leases(NOW + LEASE + 1, "worker lost") == []


async def test_version_and_last_changed_move_on_every_visible_change(stores: Stores) -> None:
    task = new_task(total=2)
    await stores.tasks.create(task)
    t = await claim_one(stores.tasks, NOW + 1)
    assert t.version == task.version + 1
    await stores.tasks.renew_leases("w1", [(t.id, 1)], LEASE, NOW + 2)
    got = await stores.tasks.get(t.id)
    assert got is not None and got.version == t.version  # a heartbeat is not a change
    await stores.tasks.record_progress(t.id, 1, 1, 2, NOW + 3)
    got = await stores.tasks.get(t.id)
    assert got is not None and got.version == t.version + 1 and got.last_changed == int(NOW + 3)


async def test_count_by_status(stores: Stores) -> None:
    for _ in range(3):
        await stores.tasks.create(new_task())
    await claim_one(stores.tasks)
    counts = await stores.tasks.count_by_status()
    assert counts[Status.QUEUED] == 2 and counts[Status.ACTIVE] == 1 and counts[Status.DONE] == 0


# -- listing ---------------------------------------------------------------------------------


async def seed_list(store: TaskStore, n: int = 30) -> list[Task]:
    tasks = []
    for i in range(n):
        t = new_task(name=["Export", "import", "report"][i % 3], now=NOW + i // 2)
        tasks.append(await store.create(t))
    await store.create(new_task(org=ORG_B))
    return tasks


async def walk(store: TaskStore, query: ListQuery) -> list[str]:
    seen: list[str] = []
    page = await store.list_page(query)
    while True:
        seen += [t.id for t in page.items]
        if page.next_cursor is None:
            return seen
        page = await store.list_page(
            ListQuery(
                query.scope, query.filters, query.text, limit=query.limit, cursor=page.next_cursor
            )
        )


@pytest.mark.parametrize(
    "sort",
    [
        "createdAt:desc",
        "createdAt:asc",
        "name:asc,createdAt:desc",
        "status:desc",
        "lastRunAt:asc",
        "_id:asc",
        "totalStep:desc,name:desc",
    ],
)
async def test_cursor_walk_visits_each_once_in_order(stores: Stores, sort: str) -> None:
    tasks = await seed_list(stores.tasks)
    query = ListQuery(Scope(ORG_A), sort=parse_sort(sort), limit=7)
    forward = await walk(stores.tasks, query)
    everything = await stores.tasks.list_page(
        ListQuery(Scope(ORG_A), sort=parse_sort(sort), limit=100)
    )
    assert forward == [t.id for t in everything.items]
    assert sorted(forward) == sorted(t.id for t in tasks)
    # And backwards from the end.
    page = await stores.tasks.list_page(
        ListQuery(Scope(ORG_A), sort=parse_sort(sort), limit=7, skip=28)
    )
    back: list[str] = [t.id for t in page.items]
    while page.previous_cursor is not None:
        page = await stores.tasks.list_page(
            ListQuery(Scope(ORG_A), limit=7, cursor=page.previous_cursor)
        )
        back = [t.id for t in page.items] + back
    assert back == forward


async def test_list_total_filters_and_text(stores: Stores) -> None:
    await seed_list(stores.tasks)
    page = await stores.tasks.list_page(ListQuery(Scope(ORG_A), limit=5))
    assert page.total == 30 and len(page.items) == 5
    assert page.previous_cursor is None and page.next_cursor is not None
    by_name = await stores.tasks.list_page(
        ListQuery(Scope(ORG_A), filters=(parse_field_filter("name", "Export,report"),))
    )
    assert by_name.total == 20
    assert {t.name for t in by_name.items} == {"Export", "report"}
    text = await stores.tasks.list_page(ListQuery(Scope(ORG_A), text="PORT"))
    assert text.total == 30  # case-insensitive substring of Export, import, report
    text = await stores.tasks.list_page(ListQuery(Scope(ORG_A), text="exp"))
    assert text.total == 10
    ranged = await stores.tasks.list_page(
        ListQuery(
            Scope(ORG_A), filters=(parse_field_filter("createdAt", f"[{int(NOW)},{int(NOW) + 1}]"),)
        )
    )
    assert ranged.total == 4
    none = await stores.tasks.list_page(ListQuery(Scope(ORG_A), text="%"))
    assert none.total == 0 and none.items == () and none.next_cursor is None


async def test_list_is_scoped(stores: Stores) -> None:
    await seed_list(stores.tasks, 4)
    page = await stores.tasks.list_page(ListQuery(Scope(ORG_B)))
    assert page.total == 1 and all(t.org_id == ORG_B for t in page.items)
    project = new_task(project="c" * 24)
    await stores.tasks.create(project)
    scoped = await stores.tasks.list_page(ListQuery(Scope(ORG_A, "c" * 24)))
    assert [t.id for t in scoped.items] == [project.id]


async def test_skip_pages(stores: Stores) -> None:
    tasks = await seed_list(stores.tasks, 10)
    page = await stores.tasks.list_page(ListQuery(Scope(ORG_A), sort=parse_sort("_id:asc"), skip=8))
    assert [t.id for t in page.items] == sorted(t.id for t in tasks)[8:]
    assert page.next_cursor is None and page.previous_cursor is not None
