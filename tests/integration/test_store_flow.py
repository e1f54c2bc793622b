"""The storage contract of flow control (issue 14, point 4): every store caps a claim the same
way: per task type, per concurrency key, and per rate window; slots come back when a task
stops running, however it stops (settle, cancel, an expired lease)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tasktrack.domain.flow import Limits, Rate
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.task import Task
from tasktrack.storage.base import Stores, TaskStore
from tasktrack.storage.factory import open_stores
from tests.conftest import ORG_A, USER_A
from tests.integration.test_store_contract import LEASE, NOW, new_task

CAPS = {
    "capped": Limits(concurrency=2),
    "keyed": Limits(per_key=1),
    "rated": Limits(rate=Rate(3, 60.0)),
}
ALL = ("capped", "keyed", "rated", "plain")


async def seed(store: TaskStore, name: str, n: int = 1, key: str | None = None) -> list[Task]:
    tasks = [new_task(name=name, now=NOW - 100 + i).evolve(concurrency_key=key) for i in range(n)]
    for task in tasks:
        await store.create(task)
    return tasks


async def claim(store: TaskStore, limit: int = 10, now: float = NOW, names=ALL) -> list[Task]:
    return await store.claim("w", names, limit, LEASE, now, limits=CAPS)


def names_of(tasks: list[Task]) -> list[str]:
    return sorted(t.name for t in tasks)


async def test_a_type_cap_holds_across_claims_and_frees_on_finish(stores: Stores) -> None:
    await seed(stores.tasks, "capped", 5)
    first = await claim(stores.tasks)
    assert names_of(first) == ["capped", "capped"]
    assert await claim(stores.tasks) == []
    await stores.tasks.finish(first[0].id, first[0].attempts, NOW + 1)
    assert names_of(await claim(stores.tasks, now=NOW + 1)) == ["capped"]


async def test_a_full_type_does_not_hold_back_the_others(stores: Stores) -> None:
    await seed(stores.tasks, "capped", 5)  # older than the plain tasks: first in the queue
    plain = await seed(stores.tasks, "plain", 3)
    claimed = await claim(stores.tasks, limit=5)
    assert names_of(claimed) == ["capped", "capped", "plain", "plain", "plain"]
    assert {t.id for t in claimed} >= {t.id for t in plain}


async def test_a_key_runs_once_at_a_time_other_keys_and_keyless_tasks_run(stores: Stores) -> None:
    acme = await seed(stores.tasks, "keyed", 3, key="acme")
    await seed(stores.tasks, "keyed", 1, key="globex")
    await seed(stores.tasks, "keyed", 2, key=None)
    claimed = await claim(stores.tasks)
    assert sorted(str(t.concurrency_key) for t in claimed) == ["None", "None", "acme", "globex"]
    assert await claim(stores.tasks) == []
    running = next(t for t in claimed if t.concurrency_key == "acme")
    assert running.id == acme[0].id  # oldest first within the key
    await stores.tasks.fail(running.id, running.attempts, "boom", NOW + 1)
    (second,) = await claim(stores.tasks, now=NOW + 1)
    assert (second.id, second.concurrency_key) == (acme[1].id, "acme")


async def test_the_same_key_of_another_type_is_not_capped(stores: Stores) -> None:
    await seed(stores.tasks, "keyed", 2, key="acme")
    await seed(stores.tasks, "plain", 2, key="acme")  # a plain type: its key means nothing
    assert names_of(await claim(stores.tasks)) == ["keyed", "plain", "plain"]


async def test_a_rate_limit_counts_starts_in_a_sliding_window(stores: Stores) -> None:
    await seed(stores.tasks, "rated", 8)
    first = await claim(stores.tasks)
    assert len(first) == 3
    for task in first:  # finishing frees no rate: starts are what counts
        await stores.tasks.finish(task.id, task.attempts, NOW + 1)
    assert await claim(stores.tasks, now=NOW + 30) == []
    assert await claim(stores.tasks, now=NOW + 59.9) == []
    assert len(await claim(stores.tasks, now=NOW + 60)) == 3  # the first starts left the window
    assert await claim(stores.tasks, now=NOW + 100) == []
    assert len(await claim(stores.tasks, now=NOW + 120)) == 2


async def test_every_attempt_of_a_retried_task_counts_against_the_rate(stores: Stores) -> None:
    await stores.tasks.create(new_task(name="rated", max_attempts=5))
    for at in (NOW, NOW + 1, NOW + 2):
        (attempt,) = await claim(stores.tasks, now=at)
        await stores.tasks.retry(attempt.id, attempt.attempts, at, at)
    assert await claim(stores.tasks, now=NOW + 3) == []
    (fourth,) = await claim(stores.tasks, now=NOW + 60)
    assert fourth.attempts == 4


async def test_an_expired_lease_gives_the_slot_back(stores: Stores) -> None:
    await seed(stores.tasks, "capped", 4)
    held = await claim(stores.tasks)
    assert len(held) == 2 and await claim(stores.tasks, now=NOW + 1) == []
    later = NOW + LEASE + 1  # the worker died: nobody renewed the leases
    lost = await stores.tasks.expire_leases(later, "worker lost")
    assert {t.status for t in lost} == {Status.ERROR} and len(lost) == 2
    assert len(await claim(stores.tasks, now=later)) == 2


async def test_a_cancelling_task_holds_its_slot_until_it_stops(stores: Stores) -> None:
    await seed(stores.tasks, "capped", 3)
    a, _ = await claim(stores.tasks)
    await stores.tasks.request_cancel(a.id, Scope(ORG_A), USER_A, NOW + 1)
    assert await claim(stores.tasks, now=NOW + 1) == []  # its handler may still be running
    stopped = await stores.tasks.stop(a.id, a.attempts, NOW + 2)
    assert stopped.status is Status.CANCELLED
    assert names_of(await claim(stores.tasks, now=NOW + 2)) == ["capped"]


async def test_without_limits_a_claim_is_unchanged(stores: Stores) -> None:
    await seed(stores.tasks, "capped", 5)
    assert len(await stores.tasks.claim("w", ["capped"], 10, LEASE, NOW)) == 5
    await seed(stores.tasks, "rated", 5)
    assert len(await stores.tasks.claim("w", ["rated"], 10, LEASE, NOW, limits={})) == 5


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database several store objects share (the memory store is one per object)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/flow.db"
    return str(request.getfixturevalue("pg_url"))


async def test_concurrent_claimers_never_take_more_than_the_cap(shared_url: str) -> None:
    """Many claimers at once (PostgreSQL: their own connection pools, READ COMMITTED), each
    for one task: never more than the cap start, however the claims interleave."""
    openers = [open_stores(shared_url) for _ in range(4)]
    many = await asyncio.gather(*openers)
    try:
        await seed(many[0].tasks, "capped", 20)
        await seed(many[0].tasks, "keyed", 20, key="acme")
        rounds = [claim(s.tasks, limit=1) for s in many for _ in range(6)]
        claimed = [t for batch in await asyncio.gather(*rounds) for t in batch]
        assert names_of(claimed) == ["capped", "capped", "keyed"]
    finally:
        await asyncio.gather(*(s.close() for s in many))
