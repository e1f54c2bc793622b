"""The webhook outbox on both SQL databases: the status change's own transaction writes a
message per matching subscription (and nothing for other organisations or events); claims
never share a message; a lapsed lease gives it back; stale results are fenced off."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from tasktrack.domain.ids import new_id
from tasktrack.domain.listing import Scope
from tasktrack.domain.webhooks import EVENTS, DeliveryAttempt, Message, Subscription
from tasktrack.storage.base import Stores
from tasktrack.storage.webhook_base import WebhookStore
from tests.conftest import ORG_A, ORG_B, USER_A
from tests.integration.test_store_contract import LEASE, NOW, claim_one, new_task


@pytest.fixture
def hooks(stores: Stores) -> WebhookStore:
    store: WebhookStore | None = getattr(stores, "webhooks", None)
    if store is None:
        pytest.skip("the memory store keeps no outbox (webhooks need SQLite or PostgreSQL)")
    return store


async def subscribe(hooks: WebhookStore, events: tuple[str, ...] = EVENTS, org: str = ORG_A) -> str:
    sub = Subscription(new_id(), org, "https://example.com/", events, "sealed", "", NOW, USER_A)
    return (await hooks.add_subscription(sub)).id


async def drain(hooks: WebhookStore) -> list[Message]:
    return await hooks.claim_messages(time.time(), LEASE, 100)


def _events(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.event, orjson.loads(m.payload)["status"]) for m in messages]


async def test_each_status_change_writes_its_event(stores: Stores, hooks: WebhookStore) -> None:
    await subscribe(hooks)
    done = await stores.tasks.create(new_task())
    await claim_one(stores.tasks, NOW + 1)
    await stores.tasks.finish(done.id, 1, NOW + 2)
    failed = await stores.tasks.create(new_task())
    await claim_one(stores.tasks, NOW + 3)
    await stores.tasks.fail(failed.id, 1, "boom", NOW + 4)
    cancelled = await stores.tasks.create(new_task())
    await stores.tasks.request_cancel(cancelled.id, Scope(ORG_A), USER_A, NOW + 5)
    await stores.tasks.create(new_task(org=ORG_B))  # another organisation: no message
    assert _events(await drain(hooks)) == [
        ("task.created", "queued"), ("task.started", "active"), ("task.done", "done"),
        ("task.created", "queued"), ("task.started", "active"), ("task.error", "error"),
        ("task.created", "queued"), ("task.cancelled", "cancelled"),
    ]  # fmt: skip


async def test_only_the_subscribed_events(stores: Stores, hooks: WebhookStore) -> None:
    sub = await subscribe(hooks, ("task.done",))
    task = await stores.tasks.create(new_task())
    await claim_one(stores.tasks, NOW + 1)
    await stores.tasks.finish(task.id, 1, NOW + 2)
    (message,) = await drain(hooks)
    assert (message.event, message.task_id, message.subscription_id) == ("task.done", task.id, sub)
    assert orjson.loads(message.payload)["_id"] == task.id


async def test_a_refused_move_writes_no_event(stores: Stores, hooks: WebhookStore) -> None:
    await subscribe(hooks, ("task.done",))
    task = await stores.tasks.create(new_task())
    await claim_one(stores.tasks, NOW + 1)
    with pytest.raises(Exception, match="no longer holds"):
        await stores.tasks.finish(task.id, 7, NOW + 2)  # a stale attempt: fenced off
    assert await drain(hooks) == []


async def test_concurrent_claims_never_share_a_message(stores: Stores, hooks: WebhookStore) -> None:
    await subscribe(hooks, ("task.created",))
    for _ in range(30):
        await stores.tasks.create(new_task())
    now = time.time()
    batches = await asyncio.gather(*(hooks.claim_messages(now, LEASE, 10) for _ in range(4)))
    ids = [m.id for batch in batches for m in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_a_lapsed_claim_is_taken_again_and_its_result_fenced(
    stores: Stores, hooks: WebhookStore
) -> None:
    sub = await subscribe(hooks, ("task.created",))
    await stores.tasks.create(new_task())
    now = time.time()
    (first,) = await hooks.claim_messages(now, 5.0, 10)
    assert await hooks.claim_messages(now + 1, 5.0, 10) == []  # leased
    (second,) = await hooks.claim_messages(now + 6, 5.0, 10)  # the deliverer died
    assert (second.id, second.attempt) == (first.id, 2)
    late = _attempt(first, "delivered", now + 7)
    assert not await hooks.record_delivery(first, late, now + 8)  # fenced off
    assert await hooks.record_delivery(second, _attempt(second, "delivered", now + 7), now + 8)
    assert await hooks.claim_messages(now + 3600, 5.0, 10) == []
    assert await hooks.message_counts(sub) == {"pending": 0, "delivered": 1, "dead": 0}
    assert [d.attempt for d in await hooks.deliveries(sub, 10)] == [2]


async def test_retry_then_dead_letter(stores: Stores, hooks: WebhookStore) -> None:
    sub = await subscribe(hooks, ("task.created",))
    await stores.tasks.create(new_task())
    now = time.time()
    (message,) = await hooks.claim_messages(now, 5.0, 10)
    assert await hooks.record_delivery(message, _attempt(message, "retry", now), now + 60)
    assert await hooks.claim_messages(now + 30, 5.0, 10) == []  # backing off
    (again,) = await hooks.claim_messages(now + 61, 5.0, 10)
    assert await hooks.record_delivery(again, _attempt(again, "dead", now + 61), now + 999)
    assert await hooks.claim_messages(now + 9999, 5.0, 10) == []
    assert await hooks.message_counts(sub) == {"pending": 0, "delivered": 0, "dead": 1}
    assert [d.outcome for d in await hooks.deliveries(sub, 10)] == ["dead", "retry"]
    assert await hooks.prune(now + 10_000, 100) == 3  # the message and both attempts


async def test_deleting_a_subscription_drops_its_messages(
    stores: Stores, hooks: WebhookStore
) -> None:
    sub = await subscribe(hooks, ("task.created",))
    await stores.tasks.create(new_task())
    assert not await hooks.delete_subscription(sub, ORG_B)  # not that organisation's
    assert await hooks.delete_subscription(sub, ORG_A)
    assert await hooks.subscription(sub) is None
    assert await drain(hooks) == []


def _attempt(message: Message, outcome: str, at: float) -> DeliveryAttempt:
    code = 200 if outcome == "delivered" else 500
    return DeliveryAttempt(
        message.subscription_id, message.id, message.event, message.task_id, message.attempt,
        at, code, "", 0.01, outcome,
    )  # fmt: skip


async def test_one_statement_moving_many_tasks_writes_each_ones_messages(
    stores: Stores, hooks: WebhookStore
) -> None:
    """A batch claim and finishes committed together move many tasks per statement
    (PostgreSQL's triggers run once per statement, migration 13): each task still gets one
    message per matching subscription of its own organisation."""
    started_and_done = await subscribe(hooks, ("task.started", "task.done"))
    done_only = await subscribe(hooks, ("task.done",))
    theirs = await subscribe(hooks, EVENTS, org=ORG_B)
    mine = [await stores.tasks.create(new_task(name=n)) for n in ("job", "job", "other")]
    other = await stores.tasks.create(new_task(org=ORG_B))
    claimed = await stores.tasks.claim("w1", ["job", "other"], 10, LEASE, NOW + 1)
    claimed += await stores.tasks.claim("w1", ["job", "other"], 10, LEASE, NOW + 1)
    assert len(claimed) == 4  # two batches: a claim takes one organisation's tasks
    await asyncio.gather(*(stores.tasks.finish(t.id, t.attempts, NOW + 2) for t in claimed))
    got = sorted((m.task_id, m.subscription_id, m.event) for m in await drain(hooks))
    expected = [(other.id, theirs, e) for e in ("task.created", "task.started", "task.done")]
    for task in mine:
        expected += [(task.id, started_and_done, "task.started")]
        expected += [(task.id, started_and_done, "task.done"), (task.id, done_only, "task.done")]
    assert got == sorted(expected)
