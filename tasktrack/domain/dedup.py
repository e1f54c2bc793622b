"""Deduplicated creates (issue 14): the ``Idempotency-Key`` header and the ``uniqueKey``
create option, as values. No I/O.

* An **idempotency key** names one *request*: the same key with the same body, within the
  key's lifetime, answers with the task the first request created (a *replay*); the same
  key with another body is refused (:class:`IdempotencyMismatch`).
* A **unique key** names one *piece of work*: while a task with that key is unfinished in
  the organisation, creating another returns that task instead (an *existing* task).

Both are scoped to the caller's organisation: two tenants may use the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument, TaskTrackError

#: Longest key accepted, for both kinds (they are stored and indexed).
MAX_KEY_LENGTH = 255


class IdempotencyMismatch(TaskTrackError):
    """This Idempotency-Key was already used with a different request body."""


class Outcome(StrEnum):
    """What a deduplicated create did."""

    CREATED = "created"
    #: The idempotency key was seen with this body: the original task, unchanged.
    REPLAYED = "replayed"
    #: An unfinished task holds the unique key: that task, unchanged.
    EXISTING = "existing"


@dataclass(frozen=True, slots=True)
class Dedup:
    """How one create is deduplicated.

    Attributes:
        idempotency_key: the request's ``Idempotency-Key``, or None.
        fingerprint: a digest of the request body, compared on a replay.
        unique_key: the ``uniqueKey`` create option, or None.
    """

    idempotency_key: str | None = None
    fingerprint: str = ""
    unique_key: str | None = None

    def __bool__(self) -> bool:
        return self.idempotency_key is not None or self.unique_key is not None


@dataclass(frozen=True, slots=True)
class Created:
    """A create's answer: the task, and whether it is new."""

    task: Task
    outcome: Outcome = Outcome.CREATED


def check_key(value: str, field: str) -> str:
    """``value`` if it is a usable key: 1 to 255 printable ASCII characters."""
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise InvalidArgument(f"{field} must be 1 to {MAX_KEY_LENGTH} characters long")
    if not (value.isascii() and value.isprintable()):
        raise InvalidArgument(f"{field} must be printable ASCII characters")
    return value
