"""Storage contract for deduplicated creates and periodic slots (issue 14): memory, SQLite
and PostgreSQL alike."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.domain.dedup import Dedup, IdempotencyMismatch, Outcome
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.service.retention import Pruner, RetentionPolicy
from tasktrack.storage.base import Stores
from tests.conftest import ORG_A, ORG_B
from tests.integration.test_store_contract import NOW, claim_one, new_task

LONG_AGO = NOW - 86400


async def test_the_same_idempotency_key_and_fingerprint_replays_the_first_task(
    stores: Stores,
) -> None:
    first = new_task()
    created = await stores.tasks.create_deduplicated(first, Dedup("k1", "f1"), LONG_AGO)
    assert created.outcome is Outcome.CREATED and created.task == first
    again = await stores.tasks.create_deduplicated(new_task(), Dedup("k1", "f1"), LONG_AGO)
    assert again.outcome is Outcome.REPLAYED
    assert again.task.id == first.id
    page_total = await stores.tasks.count_by_status()
    assert page_total[Status.QUEUED] == 1


async def test_the_same_idempotency_key_with_another_fingerprint_is_refused(
    stores: Stores,
) -> None:
    await stores.tasks.create_deduplicated(new_task(), Dedup("k1", "f1"), LONG_AGO)
    with pytest.raises(IdempotencyMismatch):
        await stores.tasks.create_deduplicated(new_task(), Dedup("k1", "f2"), LONG_AGO)
    assert (await stores.tasks.count_by_status())[Status.QUEUED] == 1


async def test_idempotency_keys_are_per_organisation(stores: Stores) -> None:
    a = await stores.tasks.create_deduplicated(new_task(ORG_A), Dedup("k", "f"), LONG_AGO)
    b = await stores.tasks.create_deduplicated(new_task(ORG_B), Dedup("k", "other"), LONG_AGO)
    assert (a.outcome, b.outcome) == (Outcome.CREATED, Outcome.CREATED)
    assert b.task.org_id == ORG_B and b.task.id != a.task.id


async def test_an_expired_idempotency_key_creates_anew(stores: Stores) -> None:
    first = await stores.tasks.create_deduplicated(new_task(), Dedup("k", "f"), LONG_AGO)
    later = new_task(now=NOW + 90000)
    # Records born before NOW + 10 have expired: the key is free again, for any body.
    second = await stores.tasks.create_deduplicated(later, Dedup("k", "g"), NOW + 10)
    assert second.outcome is Outcome.CREATED and second.task.id != first.task.id
    third = await stores.tasks.create_deduplicated(new_task(), Dedup("k", "g"), NOW + 10)
    assert third.outcome is Outcome.REPLAYED and third.task.id == later.id


async def test_a_unique_key_returns_the_unfinished_holder_until_it_finishes(
    stores: Stores,
) -> None:
    first = await stores.tasks.create_deduplicated(new_task(), Dedup(unique_key="u"), LONG_AGO)
    held = await stores.tasks.create_deduplicated(new_task(), Dedup(unique_key="u"), LONG_AGO)
    assert held.outcome is Outcome.EXISTING and held.task.id == first.task.id
    other_org = await stores.tasks.create_deduplicated(
        new_task(ORG_B), Dedup(unique_key="u"), LONG_AGO
    )
    assert other_org.outcome is Outcome.CREATED
    claimed = await claim_one(stores.tasks)
    still = await stores.tasks.create_deduplicated(new_task(), Dedup(unique_key="u"), LONG_AGO)
    assert still.outcome is Outcome.EXISTING and still.task.status is Status.ACTIVE
    await stores.tasks.finish(claimed.id, claimed.attempts, NOW + 1)
    fresh = await stores.tasks.create_deduplicated(new_task(), Dedup(unique_key="u"), LONG_AGO)
    assert fresh.outcome is Outcome.CREATED and fresh.task.id != first.task.id
    assert await stores.tasks.unique_key_of(fresh.task.id) == "u"
    assert await stores.tasks.unique_key_of(new_task().id) is None


async def test_a_cancelled_holder_frees_its_unique_key(stores: Stores) -> None:
    first = await stores.tasks.create_deduplicated(new_task(), Dedup(unique_key="u"), LONG_AGO)
    await stores.tasks.request_cancel(first.task.id, Scope(ORG_A), "u" * 24, NOW)
    fresh = await stores.tasks.create_deduplicated(new_task(), Dedup(unique_key="u"), LONG_AGO)
    assert fresh.outcome is Outcome.CREATED


async def test_concurrent_creates_with_one_key_store_one_task(stores: Stores) -> None:
    results = await asyncio.gather(
        *(
            stores.tasks.create_deduplicated(new_task(), Dedup("same", "f", "u"), LONG_AGO)
            for _ in range(20)
        )
    )
    assert len({r.task.id for r in results}) == 1
    assert [r.outcome for r in results].count(Outcome.CREATED) == 1
    assert (await stores.tasks.count_by_status())[Status.QUEUED] == 1


async def test_pruning_forgets_expired_idempotency_records(stores: Stores) -> None:
    first = await stores.tasks.create_deduplicated(new_task(), Dedup("k", "f"), LONG_AGO)
    await stores.tasks.create_deduplicated(new_task(now=NOW + 5), Dedup("k2", "f"), LONG_AGO)
    assert await stores.tasks.prune_idempotency(NOW + 1, 100) == 1
    # The record is gone, so even a lenient expiry no longer finds it: a new task.
    again = await stores.tasks.create_deduplicated(new_task(), Dedup("k", "f"), LONG_AGO)
    assert again.outcome is Outcome.CREATED and again.task.id != first.task.id
    kept = await stores.tasks.create_deduplicated(new_task(), Dedup("k2", "f"), LONG_AGO)
    assert kept.outcome is Outcome.REPLAYED


async def test_a_slot_gets_one_task_however_often_it_is_tried(stores: Stores) -> None:
    tries = [new_task(name="tick") for _ in range(10)]
    made = await asyncio.gather(*(stores.tasks.create_for_slot("s", NOW, t) for t in tries))
    winners = [t for t in made if t is not None]
    assert len(winners) == 1
    assert await stores.tasks.get(winners[0].id) == winners[0]
    assert (await stores.tasks.count_by_status())[Status.QUEUED] == 1
    assert await stores.tasks.create_for_slot("other", NOW, new_task(name="tick")) is not None
    assert await stores.tasks.last_runs(["s", "other", "never"]) == {
        "s": (NOW, winners[0].id),
        "other": (NOW, (await stores.tasks.last_runs(["other"]))["other"][1]),
    }


async def test_pruning_slots_keeps_each_schedules_latest(stores: Stores) -> None:
    for i in range(3):
        await stores.tasks.create_for_slot("s", NOW + i, new_task(name="tick", now=NOW + i))
    assert await stores.tasks.prune_schedule_runs(NOW + 100) == 2
    assert (await stores.tasks.last_runs(["s"]))["s"][0] == NOW + 2
    assert await stores.tasks.create_for_slot("s", NOW + 2, new_task(name="tick")) is None


async def test_the_retention_pruner_sweeps_expired_records(stores: Stores) -> None:
    """What each worker's pruner loop runs (Monitor._prune): expired idempotency records and
    old slot records go, the rest stay, in batches smaller than the backlog."""
    for i in range(5):
        await stores.tasks.create_deduplicated(new_task(), Dedup(f"old{i}", "f"), LONG_AGO)
        await stores.tasks.create_for_slot("s", NOW + i, new_task(name="tick"))
    later = NOW + 2 * 86400
    await stores.tasks.create_deduplicated(new_task(now=later), Dedup("new", "f"), LONG_AGO)
    policy = RetentionPolicy(batch=2, pause=0, idempotency_ttl=86400)
    swept = await Pruner(stores.tasks, policy, clock=lambda: later + 1).sweep_records()
    assert swept == 5 + 4  # five records past 24 h; four of five slots (the latest stays)
    assert (await stores.tasks.last_runs(["s"]))["s"][0] == NOW + 4
    kept = await stores.tasks.create_deduplicated(new_task(), Dedup("new", "f"), LONG_AGO)
    assert kept.outcome is Outcome.REPLAYED
    gone = await stores.tasks.create_deduplicated(new_task(), Dedup("old0", "f"), LONG_AGO)
    assert gone.outcome is Outcome.CREATED
