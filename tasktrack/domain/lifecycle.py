"""The task lifecycle, written down once as data.

Every store enforces this table with conditional updates (``... WHERE status IN (...)``);
:func:`transition` is the same rule for code that holds a task in memory.
"""

from __future__ import annotations

from enum import StrEnum

from tasktrack.errors import InvalidTransition


class Status(StrEnum):
    """Where a task is in its life. Values are the contract's wire strings."""

    #: Waiting for a worker to claim it (or for its retry backoff to pass).
    QUEUED = "queued"
    #: A worker holds a lease on it and its handler runs.
    ACTIVE = "active"
    #: The handler returned; terminal.
    DONE = "done"
    #: Cancel was asked while it ran; the worker is stopping the handler.
    CANCELLING = "cancelling"
    #: Stopped by a cancel request; terminal.
    CANCELLED = "cancelled"
    #: Failed with no attempts left, timed out, or its worker was lost; terminal.
    ERROR = "error"


#: Allowed moves, keyed by the verb that makes them. A verb absent for a status is refused.
#: A verb may send different statuses to different places (a retry of a cancelling task ends
#: it: a cancel request stops retries). Stores derive their conditional updates from this
#: table, in its order (most common move first).
TRANSITIONS: dict[str, dict[Status, Status]] = {
    "claim": {Status.QUEUED: Status.ACTIVE},
    "finish": {Status.ACTIVE: Status.DONE, Status.CANCELLING: Status.DONE},
    "fail": {Status.ACTIVE: Status.ERROR, Status.CANCELLING: Status.ERROR},
    "retry": {Status.ACTIVE: Status.QUEUED, Status.CANCELLING: Status.CANCELLED},
    "cancel": {Status.QUEUED: Status.CANCELLED, Status.ACTIVE: Status.CANCELLING},
    "stop": {Status.CANCELLING: Status.CANCELLED},
    #: Worker shutdown gives a running task back without spending an attempt.
    "release": {Status.ACTIVE: Status.QUEUED, Status.CANCELLING: Status.CANCELLED},
    #: A lapsed lease: run again (only while attempts remain; otherwise "lose").
    "expire": {Status.CANCELLING: Status.CANCELLED, Status.ACTIVE: Status.QUEUED},
    #: A lapsed lease with no attempt left: the worker was lost.
    "lose": {Status.ACTIVE: Status.ERROR},
}

#: Statuses a running attempt holds its lease in (heartbeats and progress apply).
RUNNING: tuple[Status, ...] = (Status.ACTIVE, Status.CANCELLING)

TERMINAL: frozenset[Status] = frozenset({Status.DONE, Status.CANCELLED, Status.ERROR})


def is_terminal(status: Status) -> bool:
    """True when nothing may change the task any more."""
    return status in TERMINAL


def sources(verb: str) -> tuple[Status, ...]:
    """The statuses from which ``verb`` is allowed (for ``WHERE status IN (...)``)."""
    return tuple(TRANSITIONS[verb])


def targets(verb: str) -> dict[Status, tuple[Status, ...]]:
    """``verb``'s moves grouped by where they lead: target -> its sources, in table order."""
    grouped: dict[Status, tuple[Status, ...]] = {}
    for source, target in TRANSITIONS[verb].items():
        grouped[target] = (*grouped.get(target, ()), source)
    return grouped


def transition(status: Status, verb: str) -> Status:
    """Return the status after ``verb``, or raise :class:`InvalidTransition`."""
    moves = TRANSITIONS.get(verb)
    if moves is None:
        raise ValueError(f"unknown lifecycle verb {verb!r}")
    try:
        return moves[status]
    except KeyError:
        raise InvalidTransition(f"cannot {verb} a task that is {status.value}") from None
