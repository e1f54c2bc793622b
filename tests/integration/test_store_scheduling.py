"""The storage contract for scheduling (issue 14): run later, priorities, queues and fair share
between organisations, the same on every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Scope, parse_field_filter
from tasktrack.domain.task import Task
from tasktrack.storage.base import Stores
from tests.conftest import ORG_A, ORG_B, USER_A
from tests.integration.test_store_contract import LEASE, NOW, new_task

ORG_C = "c" * 24


def task(
    org: str = ORG_A,
    name: str = "job",
    at: float = NOW,
    priority: int = 0,
    queue: str = "default",
) -> Task:
    return new_task(org=org, name=name, now=at).evolve(priority=priority, queue=queue)


async def create(stores: Stores, *tasks: Task) -> None:
    for t in tasks:
        await stores.tasks.create(t)


async def claim(
    stores: Stores, limit: int, now: float = NOW, queues: tuple[str, ...] = ("default",)
) -> list[Task]:
    return await stores.tasks.claim("w1", ["job", "other"], limit, LEASE, now, queues)


async def test_priority_and_queue_round_trip(stores: Stores) -> None:
    made = task(priority=-7, queue="reports")
    await create(stores, made)
    assert await stores.tasks.get(made.id) == made


async def test_a_delayed_task_is_not_claimed_before_it_is_due(stores: Stores) -> None:
    later = task().evolve(run_after=NOW + 60)
    await create(stores, later)
    assert await claim(stores, 5, NOW + 59.9) == []
    assert await stores.tasks.next_due(NOW) == later.run_after
    assert [t.id for t in await claim(stores, 5, NOW + 60)] == [later.id]
    assert await stores.tasks.next_due(NOW) is None


async def test_a_waiting_task_can_be_cancelled_and_never_runs(stores: Stores) -> None:
    later = task().evolve(run_after=NOW + 60)
    await create(stores, later)
    cancelled = await stores.tasks.request_cancel(later.id, Scope(ORG_A), USER_A, NOW + 1)
    assert cancelled.status is Status.CANCELLED
    assert await claim(stores, 5, NOW + 120) == []


async def test_claims_take_higher_priority_first_then_due_time_then_id(stores: Stores) -> None:
    low = task(at=NOW - 50, priority=-1)
    old, young = task(at=NOW - 20, priority=5), task(at=NOW - 10, priority=5)
    plain = task(at=NOW - 30)
    not_due = task(priority=100).evolve(run_after=NOW + 1)
    await create(stores, young, plain, low, not_due, old)
    claimed = await claim(stores, 10)
    assert [t.id for t in claimed] == [old.id, young.id, plain.id, low.id]


async def test_a_worker_serves_only_its_queues(stores: Stores) -> None:
    mine, theirs = task(queue="fast"), task(queue="slow")
    await create(stores, theirs, mine)
    assert [t.id for t in await claim(stores, 5, queues=("fast",))] == [mine.id]
    assert await claim(stores, 5, queues=("fast",)) == []
    assert [t.id for t in await claim(stores, 5, queues=("fast", "slow"))] == [theirs.id]


async def test_claims_rotate_between_organisations(stores: Stores) -> None:
    """Org A's older backlog does not keep org B waiting: each claim serves the next
    organisation with due work (round-robin), whatever their due times."""
    flood = [task(org=ORG_A, at=NOW - 100 + i / 100) for i in range(40)]
    few = [task(org=ORG_B, at=NOW - 1 + i / 100) for i in range(3)]
    await create(stores, *flood, *few)
    orgs = [t.org_id for _ in range(6) for t in await claim(stores, 1)]
    assert orgs == [ORG_A, ORG_B] * 3


async def test_a_short_claim_is_filled_from_the_next_lanes_in_turn(stores: Stores) -> None:
    """A lane with only tasks not yet due (or of other types) does not block the others."""
    await create(stores, task(org=ORG_A).evolve(run_after=NOW + 100))
    await create(stores, task(org=ORG_A, name="unknown"))
    b_tasks = [task(org=ORG_B, at=NOW - 2 + i / 10) for i in range(2)]
    c_task = task(org=ORG_C, at=NOW - 5)
    await create(stores, *b_tasks, c_task)
    claimed = await claim(stores, 10)
    assert sorted(t.id for t in claimed) == sorted([b_tasks[0].id, b_tasks[1].id, c_task.id])


async def test_list_filters_by_queue_and_priority(stores: Stores) -> None:
    fast, urgent = task(queue="fast"), task(priority=9)
    await create(stores, fast, urgent, task())
    for field, raw, expected in (("queue", "fast", fast), ("priority", "9", urgent)):
        query = ListQuery(Scope(ORG_A), (parse_field_filter(field, raw),))
        page = await stores.tasks.list_page(query)
        assert [t.id for t in page.items] == [expected.id], field


async def test_a_retry_waits_for_its_back_off_like_a_delayed_task(stores: Stores) -> None:
    await create(stores, new_task(max_attempts=2))
    first = (await claim(stores, 1))[0]
    await stores.tasks.retry(first.id, first.attempts, NOW + 30, NOW + 1)
    assert await stores.tasks.next_due(NOW + 1) == NOW + 30
    assert await claim(stores, 1, NOW + 29) == []
    assert [t.id for t in await claim(stores, 1, NOW + 30)] == [first.id]


async def test_upcoming_lists_an_organisations_waiting_tasks_soonest_first(
    stores: Stores,
) -> None:
    waiting = [task().evolve(run_after=NOW + d) for d in (30, 10, 20)]
    due, foreign = task(), task(org=ORG_B).evolve(run_after=NOW + 5)
    await create(stores, *waiting, due, foreign)
    first = await stores.tasks.upcoming(Scope(ORG_A), NOW, None, 2)
    assert [t.run_after for t in first] == [NOW + 10, NOW + 20]
    rest = await stores.tasks.upcoming(Scope(ORG_A), NOW, (first[-1].run_after, first[-1].id), 2)
    assert [t.run_after for t in rest] == [NOW + 30]
    assert await stores.tasks.upcoming(Scope(ORG_A), NOW + 30, None, 5) == []


async def test_many_lanes_of_waiting_tasks_do_not_hide_a_due_one(stores: Stores) -> None:
    """40 organisations with only delayed tasks, and one (last in id order) with a due
    task: a claim tries a bounded number of lanes, and the next one goes on from there."""
    waiting = [task(org=f"{i:024x}").evolve(run_after=NOW + 60) for i in range(1, 41)]
    due = task(org="f" * 24)
    await create(stores, *waiting, due)
    claimed: list[Task] = []
    for _ in range(3):
        claimed += await claim(stores, 1)
    assert [t.id for t in claimed] == [due.id]
