"""Webhook subscriptions of an organisation: create (the secret shown once), list, read,
delete, and the latest delivery attempts. Every call is scoped to the caller's organisation;
managing needs write access. Delivery itself is the worker's
(:mod:`tasktrack.worker.webhooks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tasktrack.domain.identity import Principal
from tasktrack.domain.ids import is_valid_id, new_id
from tasktrack.domain.webhooks import (
    MAX_DESCRIPTION_LENGTH,
    DeliveryAttempt,
    Subscription,
    parse_events,
)
from tasktrack.errors import Conflict, Forbidden, InvalidArgument, NotFound
from tasktrack.service.webhook_secrets import SecretBox, new_secret
from tasktrack.service.webhook_targets import check_target
from tasktrack.storage.webhook_base import WebhookStore

#: Subscriptions per organisation: each one is an outbox row per matching event.
MAX_SUBSCRIPTIONS = 20
DEFAULT_DELIVERIES = 20
MAX_DELIVERIES = 200


@dataclass(frozen=True)
class Created:
    """A new subscription and its signing secret, in plain text this once."""

    subscription: Subscription
    secret: str


class WebhookService:
    """The use cases behind ``/v2.0/webhooks`` and ``tasktrack webhooks``."""

    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        allow_private: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.box = box
        self.allow_private = allow_private
        self.clock = clock

    async def create(
        self,
        principal: Principal,
        url: str,
        events: Sequence[str] | None = None,
        description: str = "",
    ) -> Created:
        """Subscribe the caller's organisation; InvalidArgument for a bad or refused URL."""
        _require_write(principal)
        chosen = parse_events(events)
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidArgument(f"description is longer than {MAX_DESCRIPTION_LENGTH}")
        await check_target(url, self.allow_private)
        if len(await self.store.subscriptions(principal.org_id)) >= MAX_SUBSCRIPTIONS:
            raise Conflict(f"an organisation may have at most {MAX_SUBSCRIPTIONS} webhooks")
        secret = new_secret()
        now = self.clock()
        sub = Subscription(
            new_id(now), principal.org_id, url, chosen, self.box.seal(secret), description,
            now, principal.user_id,
        )  # fmt: skip
        return Created(await self.store.add_subscription(sub), secret)

    async def subscriptions(self, principal: Principal) -> list[Subscription]:
        return await self.store.subscriptions(principal.org_id)

    async def get(self, principal: Principal, sub_id: str) -> Subscription:
        """The caller's subscription, or NotFound (also another organisation's)."""
        if not is_valid_id(sub_id):
            raise InvalidArgument("webhookId must be 24 lowercase hex characters")
        sub = await self.store.subscription(sub_id)
        if sub is None or sub.org_id != principal.org_id:
            raise NotFound(f"Webhook {sub_id} not found")
        return sub

    async def delete(self, principal: Principal, sub_id: str) -> None:
        """Unsubscribe: pending messages and the attempt history go with it."""
        _require_write(principal)
        await self.get(principal, sub_id)
        if not await self.store.delete_subscription(sub_id, principal.org_id):
            raise NotFound(f"Webhook {sub_id} not found")

    async def deliveries(
        self, principal: Principal, sub_id: str, limit: int = DEFAULT_DELIVERIES
    ) -> list[DeliveryAttempt]:
        """The subscription's latest delivery attempts, newest first."""
        if not 1 <= limit <= MAX_DELIVERIES:
            raise InvalidArgument(f"limit must be between 1 and {MAX_DELIVERIES}")
        await self.get(principal, sub_id)
        return await self.store.deliveries(sub_id, limit)

    async def counts(self, principal: Principal, sub_id: str) -> dict[str, int]:
        """Messages per state: pending, delivered, dead (dead-lettered)."""
        await self.get(principal, sub_id)
        return await self.store.message_counts(sub_id)


def _require_write(principal: Principal) -> None:
    if principal.read_only:
        raise Forbidden("read-only credentials cannot manage webhooks")
