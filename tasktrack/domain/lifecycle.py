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
TRANSITIONS: dict[str, dict[Status, Status]] = {
    "claim": {Status.QUEUED: Status.ACTIVE},
    "finish": {Status.ACTIVE: Status.DONE, Status.CANCELLING: Status.DONE},
    "fail": {Status.ACTIVE: Status.ERROR, Status.CANCELLING: Status.ERROR},
    "retry": {Status.ACTIVE: Status.QUEUED},
    "cancel": {Status.QUEUED: Status.CANCELLED, Status.ACTIVE: Status.CANCELLING},
    "stop": {Status.CANCELLING: Status.CANCELLED},
}

TERMINAL: frozenset[Status] = frozenset({Status.DONE, Status.CANCELLED, Status.ERROR})


def is_terminal(status: Status) -> bool:
    """True when nothing may change the task any more."""
    return status in TERMINAL


def sources(verb: str) -> tuple[Status, ...]:
    """The statuses from which ``verb`` is allowed (for ``WHERE status IN (...)``)."""
    return tuple(TRANSITIONS[verb])


def transition(status: Status, verb: str) -> Status:
    """Return the status after ``verb``, or raise :class:`InvalidTransition`."""
    moves = TRANSITIONS.get(verb)
    if moves is None:
        raise ValueError(f"unknown lifecycle verb {verb!r}")
    try:
        return moves[status]
    except KeyError:
        raise InvalidTransition(f"cannot {verb} a task that is {status.value}") from None
