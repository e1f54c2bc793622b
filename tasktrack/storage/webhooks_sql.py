"""The webhook tables' SQL (schema 10), with ``?`` placeholders for both dialects.

The outbox rows themselves are written by triggers on ``tasks`` (see the migrations), in the
transaction of the status change; this module claims, settles, lists and prunes them.
"""

from __future__ import annotations

from tasktrack.domain.webhooks import DeliveryAttempt, Message, Subscription, encode_events
from tasktrack.storage.dialect import Statement

SUBSCRIPTION_COLUMNS = "id, org_id, url, events, secret, description, created_at, created_by"
MESSAGE_COLUMNS = "seq, id, subscription_id, event, task_id, payload, created_at, attempts"
DELIVERY_COLUMNS = (
    "subscription_id, message_id, event, task_id, attempt, at, status_code, error, duration, "
    "outcome"
)


def insert_subscription(sub: Subscription) -> Statement:
    return (
        f"INSERT INTO webhook_subscriptions ({SUBSCRIPTION_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sub.id,
            sub.org_id,
            sub.url,
            encode_events(sub.events),
            sub.secret,
            sub.description,
            sub.created_at,
            sub.created_by,
        ),
    )


def select_subscriptions(org_id: str) -> Statement:
    return (
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE org_id = ? "
        "ORDER BY created_at, id",
        (org_id,),
    )


def select_subscription(sub_id: str) -> Statement:
    return f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = ?", (sub_id,)


def delete_subscription(sub_id: str, org_id: str) -> Statement:
    return (
        "DELETE FROM webhook_subscriptions WHERE id = ? AND org_id = ? RETURNING id",
        (sub_id, org_id),
    )


def any_due(now: float) -> Statement:
    """A cheap read (the partial index) before a claim: SQLite claims take the one writer."""
    return (
        "SELECT 1 FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1",
        (now,),
    )


def claim(now: float, lease: float, limit: int, row_lock: str) -> Statement:
    """Take up to ``limit`` due messages: push each a lease into the future and count the
    attempt. ``row_lock`` is PostgreSQL's ``FOR UPDATE SKIP LOCKED`` (SQLite has one writer)."""
    return (
        "UPDATE webhook_outbox SET next_attempt_at = ?, attempts = attempts + 1 "
        "WHERE seq IN (SELECT seq FROM webhook_outbox WHERE state = 'pending' "
        f"AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?{row_lock}) "
        f"RETURNING {MESSAGE_COLUMNS}",
        (now + lease, now, limit),
    )


def settle(message: Message, outcome: str, now: float, retry_at: float) -> Statement:
    """The message's state after an attempt, fenced on the attempt (a message reclaimed
    after a lapsed lease belongs to the newer attempt)."""
    if outcome == "retry":
        sets: Statement = ("next_attempt_at = ?", (retry_at,))
    else:
        state = "delivered" if outcome == "delivered" else "dead"
        sets = (f"state = '{state}', finished_at = ?", (now,))
    return (
        f"UPDATE webhook_outbox SET {sets[0]} WHERE seq = ? AND attempts = ? AND state = 'pending'",
        (*sets[1], message.seq, message.attempt),
    )


def insert_delivery(d: DeliveryAttempt) -> Statement:
    return (
        f"INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.subscription_id,
            d.message_id,
            d.event,
            d.task_id,
            d.attempt,
            d.at,
            d.status_code,
            d.error,
            d.duration,
            d.outcome,
        ),
    )


def select_deliveries(sub_id: str, limit: int) -> Statement:
    return (
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE subscription_id = ? "
        "ORDER BY seq DESC LIMIT ?",
        (sub_id, limit),
    )


def count_states(sub_id: str) -> Statement:
    return (
        "SELECT state, count(*) FROM webhook_outbox WHERE subscription_id = ? GROUP BY state",
        (sub_id,),
    )


def prune_outbox(before: float, limit: int) -> Statement:
    return (
        "DELETE FROM webhook_outbox WHERE seq IN (SELECT seq FROM webhook_outbox "
        "WHERE state <> 'pending' AND finished_at < ? LIMIT ?) RETURNING seq",
        (before, limit),
    )


def prune_deliveries(before: float, limit: int) -> Statement:
    return (
        "DELETE FROM webhook_deliveries WHERE seq IN (SELECT seq FROM webhook_deliveries "
        "WHERE at < ? ORDER BY seq LIMIT ?) RETURNING seq",
        (before, limit),
    )
