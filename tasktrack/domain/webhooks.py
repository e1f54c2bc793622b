"""Webhooks as values: the task events one can subscribe to, a subscription, an outbox
message and one delivery attempt. (Sending them is the worker's: :mod:`tasktrack.worker.webhooks`.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tasktrack.errors import InvalidArgument

#: The events a subscription may name, in lifecycle order. ``task.started`` is each claim
#: (every attempt); ``task.cancelled`` also a queued task cancelled before it ran. Progress
#: is not an event: it is coalesced and frequent, and the change stream serves it better.
EVENTS = ("task.created", "task.started", "task.done", "task.error", "task.cancelled")
#: Longest target URL accepted.
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Subscription:
    """An organisation's subscription; ``secret`` is the signing secret as stored
    (encrypted), never shown after creation."""

    id: str
    org_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    description: str
    created_at: float
    created_by: str


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one subscription, claimed from the outbox for delivery."""

    seq: int
    id: str
    subscription_id: str
    event: str
    task_id: str
    #: The task's fields at the event, as JSON text (the ``data`` of the body).
    payload: str
    created_at: float
    #: This delivery's number (the fencing token of its result write).
    attempt: int


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One HTTP attempt: ``status_code`` 0 when no response came (``error`` says why);
    ``outcome`` delivered, retry (a later attempt follows) or dead (no more attempts)."""

    subscription_id: str
    message_id: str
    event: str
    task_id: str
    attempt: int
    at: float
    status_code: int
    error: str
    duration: float
    outcome: str


def parse_events(names: Iterable[str] | None) -> tuple[str, ...]:
    """The events named (all of them when None), in :data:`EVENTS` order, or InvalidArgument."""
    if names is None:
        return EVENTS
    wanted = set(names)
    unknown = sorted(wanted - set(EVENTS))
    if unknown:
        raise InvalidArgument(f"unknown event {unknown[0]!r}; events are {', '.join(EVENTS)}")
    if not wanted:
        raise InvalidArgument("a subscription needs at least one event")
    return tuple(e for e in EVENTS if e in wanted)


def encode_events(events: Iterable[str]) -> str:
    """The stored form: comma-framed, so ``,task.done,`` matches one event exactly in SQL."""
    return "," + ",".join(events) + ","


def decode_events(stored: str) -> tuple[str, ...]:
    return tuple(e for e in stored.split(",") if e)


def retry_delay(attempt: int, base: float, cap: float = 3600.0) -> float:
    """Seconds before the attempt after ``attempt`` (1-based): ``base`` doubling, at most
    ``cap``."""
    return float(min(cap, base * 2 ** max(attempt - 1, 0)))
