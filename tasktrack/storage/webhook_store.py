"""Webhook subscriptions, outbox and delivery attempts on the SQL dialects (schema 10).

Only the SQL stores have webhooks: the outbox is filled by triggers on ``tasks``, in the
transaction of each status change, which the in-memory double has no equivalent of.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasktrack.domain.webhooks import DeliveryAttempt, Message, Subscription, decode_events
from tasktrack.storage import webhooks_sql as wsql
from tasktrack.storage.dialect import Dialect, Row


def _subscription(row: Row) -> Subscription:
    sid, org, url, events, secret, description, created_at, created_by = row
    return Subscription(
        sid, org, url, decode_events(events), secret, description, float(created_at), created_by
    )


def _message(row: Row) -> Message:
    seq, mid, sub, event, task, payload, created_at, attempts = row
    return Message(int(seq), mid, sub, event, task, payload, float(created_at), int(attempts))


def _delivery(row: Sequence[Any]) -> DeliveryAttempt:
    sub, mid, event, task, attempt, at, code, error, duration, outcome = row
    return DeliveryAttempt(
        sub, mid, event, task, int(attempt), float(at), int(code), error, float(duration), outcome
    )


class SqlWebhookStore:
    """A :class:`~tasktrack.storage.base.WebhookStore` on any :class:`Dialect`."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def add_subscription(self, sub: Subscription) -> Subscription:
        await self.dialect.write_all([wsql.insert_subscription(sub)])
        return sub

    async def subscriptions(self, org_id: str) -> list[Subscription]:
        return [
            _subscription(r)
            for r in await self.dialect.lookup_all(wsql.select_subscriptions(org_id))
        ]

    async def subscription(self, sub_id: str) -> Subscription | None:
        row = await self.dialect.lookup_one(wsql.select_subscription(sub_id))
        return None if row is None else _subscription(row)

    async def delete_subscription(self, sub_id: str, org_id: str) -> bool:
        return bool(await self.dialect.write_all([wsql.delete_subscription(sub_id, org_id)]))

    async def claim_messages(self, now: float, lease: float, limit: int) -> list[Message]:
        if await self.dialect.lookup_one(wsql.any_due(now)) is None:
            return []  # the common case costs a read, not a write (SQLite's one writer)
        rows = await self.dialect.write_all([wsql.claim(now, lease, limit, self.dialect.row_lock)])
        return sorted((_message(r) for r in rows), key=lambda m: m.seq)

    async def record_delivery(
        self, message: Message, attempt: DeliveryAttempt, retry_at: float
    ) -> bool:
        settle = wsql.settle(message, attempt.outcome, attempt.at, retry_at)
        return await self.dialect.write_guarded([settle, wsql.insert_delivery(attempt)])

    async def deliveries(self, sub_id: str, limit: int) -> list[DeliveryAttempt]:
        return [
            _delivery(r)
            for r in await self.dialect.lookup_all(wsql.select_deliveries(sub_id, limit))
        ]

    async def message_counts(self, sub_id: str) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "delivered", "dead"), 0)
        for state, n in await self.dialect.scan_all(wsql.count_states(sub_id)):
            counts[state] = int(n)
        return counts

    async def prune(self, before: float, limit: int) -> int:
        rows = await self.dialect.write_all(
            [wsql.prune_outbox(before, limit), wsql.prune_deliveries(before, limit)]
        )
        return len(rows)
