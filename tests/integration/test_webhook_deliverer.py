"""The worker's deliverer on real databases and real receivers: a slow subscriber does not
hold up another's messages, and secrets are stored encrypted, not as given."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from tasktrack.domain.identity import Principal
from tasktrack.domain.webhooks import DeliveryAttempt
from tasktrack.service.webhook_secrets import SecretBox
from tasktrack.service.webhooks import WebhookService
from tasktrack.storage.base import Stores
from tasktrack.storage.webhook_base import WebhookStore
from tasktrack.worker.supervise import forever
from tasktrack.worker.webhooks import Deliverer, DeliveryOptions
from tests.conftest import ORG_A, USER_A
from tests.helpers import eventually
from tests.integration.test_store_contract import new_task
from tests.integration.webhook_receiver import run_receiver

receiver_for = contextlib.contextmanager(run_receiver)
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def hooks(stores: Stores) -> WebhookStore:
    store: WebhookStore | None = getattr(stores, "webhooks", None)
    if store is None:
        pytest.skip("the memory store keeps no outbox (webhooks need SQLite or PostgreSQL)")
    return store


async def test_a_slow_subscriber_does_not_hold_up_another(
    stores: Stores, hooks: WebhookStore
) -> None:
    box = await SecretBox.open(stores.identity, "k" * 40)
    service = WebhookService(hooks, box, allow_private=True)
    who = Principal(USER_A, ORG_A)
    options = DeliveryOptions(timeout=20, backoff=0.1, allow_private=True, poll_interval=0.05)
    deliverer = Deliverer(hooks, box, options)
    with receiver_for(hold_first=True) as slow, receiver_for() as quick:
        await service.create(who, slow.url, ["task.created"])
        made = await service.create(who, quick.url, ["task.created"])
        loop = asyncio.create_task(forever("webhook delivery", deliverer.step))
        try:
            await stores.tasks.create(new_task())
            await eventually(lambda: _now(quick.accepted()), bool, what="the quick delivery")
            # The slow request may reach its receiver after the quick one was answered (both
            # are sent at once): wait for it to be held, then it must not have been accepted.
            await eventually(lambda: _now(slow.held.is_set()), bool, what="the slow request")
            assert slow.accepted() == []  # still being held
            quick.accepted()[0].verified(made.secret)
            slow.release.set()  # the held request is dropped: retried after the back-off
            await eventually(lambda: _now(slow.accepted()), bool, what="the retry")
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
            await deliverer.close()


async def test_secrets_are_stored_encrypted(stores: Stores, hooks: WebhookStore) -> None:
    box = await SecretBox.open(stores.identity, "k" * 40)
    made = await WebhookService(hooks, box, allow_private=True).create(
        Principal(USER_A, ORG_A), "http://127.0.0.1/"
    )
    stored = await hooks.subscription(made.subscription.id)
    assert stored is not None
    assert made.secret not in stored.secret and made.secret[6:] not in stored.secret
    assert box.open_secret(stored.secret) == made.secret
    other = await SecretBox.open(stores.identity)  # the database's key, not the configured one
    with pytest.raises(Exception, match="TASKTRACK_WEBHOOK_KEY"):
        other.open_secret(stored.secret)


async def _now(value: object) -> object:
    return value


async def one_attempt(
    stores: Stores, hooks: WebhookStore, box: SecretBox, subscription_id: str, *, private: bool
) -> DeliveryAttempt:
    """Create a task and run one delivery step (one attempt allowed); the attempt made."""
    options = DeliveryOptions(timeout=5, max_attempts=1, allow_private=private)
    deliverer = Deliverer(hooks, box, options)
    await stores.tasks.create(new_task())
    try:
        await deliverer.step()
        await deliverer.settled(10)
    finally:
        await deliverer.close()
    (attempt,) = await hooks.deliveries(subscription_id, 10)
    return attempt


async def test_the_target_is_checked_again_at_delivery(stores: Stores, hooks: WebhookStore) -> None:
    box = await SecretBox.open(stores.identity)
    allowed = WebhookService(hooks, box, allow_private=True)  # e.g. the setting was on then
    with receiver_for() as receiver:
        made = await allowed.create(Principal(USER_A, ORG_A), receiver.url, ["task.created"])
        attempt = await one_attempt(stores, hooks, box, made.subscription.id, private=False)
        assert receiver.all() == []  # never sent
    assert (attempt.status_code, attempt.outcome) == (0, "dead")
    assert attempt.error.startswith("refused: url's host '127.0.0.1' resolves to a non-public")


async def test_a_target_that_refuses_the_connection_is_an_attempt_with_the_error(
    stores: Stores, hooks: WebhookStore
) -> None:
    """Nothing listens on the port: the attempt is recorded with no status and the HTTP
    client's error (the deliverer's client is made at its first delivery)."""
    with socket.socket() as reserved:  # a free port, closed again before the delivery
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
    box = await SecretBox.open(stores.identity)
    service = WebhookService(hooks, box, allow_private=True)
    made = await service.create(Principal(USER_A, ORG_A), f"http://127.0.0.1:{port}/hook")
    attempt = await one_attempt(stores, hooks, box, made.subscription.id, private=True)
    assert (attempt.status_code, attempt.outcome) == (0, "dead")
    assert attempt.error.startswith("ConnectError"), attempt.error
