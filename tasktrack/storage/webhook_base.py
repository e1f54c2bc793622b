"""The storage verbs of webhooks (issue 16): subscriptions, the outbox and delivery
attempts; the SQL stores implement them (:mod:`.webhook_store`)."""

from __future__ import annotations

from typing import Protocol

from tasktrack.domain.webhooks import DeliveryAttempt, Message, Subscription


class WebhookStore(Protocol):
    """Webhook subscriptions, their outbox and delivery attempts (issue 16). The outbox rows
    are written by the database itself, in the transaction of each task status change."""

    async def add_subscription(self, sub: Subscription) -> Subscription: ...

    async def subscriptions(self, org_id: str) -> list[Subscription]: ...

    async def subscription(self, sub_id: str) -> Subscription | None:
        """Any organisation's subscription by id (the caller checks the scope)."""
        ...

    async def delete_subscription(self, sub_id: str, org_id: str) -> bool:
        """Delete it with its pending messages and history; False when not the org's."""
        ...

    async def claim_messages(self, now: float, lease: float, limit: int) -> list[Message]:
        """Take up to ``limit`` due messages for ``lease`` seconds (none twice at once)."""
        ...

    async def record_delivery(
        self, message: Message, attempt: DeliveryAttempt, retry_at: float
    ) -> bool:
        """Record an attempt and the message's new state; False when the claim was lost."""
        ...

    async def deliveries(self, sub_id: str, limit: int) -> list[DeliveryAttempt]:
        """The latest attempts of a subscription, newest first."""
        ...

    async def message_counts(self, sub_id: str) -> dict[str, int]:
        """Messages per state (pending, delivered, dead) of a subscription."""
        ...

    async def prune(self, before: float, limit: int) -> int:
        """Delete finished messages and attempts older than ``before``; how many went."""
        ...
