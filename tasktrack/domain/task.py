"""The task record: the contract's 13 fields plus what the runtime needs to run it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tasktrack.domain.lifecycle import Status

#: The contract's field names, in the seed's order: every representation uses this order.
CONTRACT_FIELDS: tuple[str, ...] = (
    "name",
    "data",
    "status",
    "currentStep",
    "totalStep",
    "failReason",
    "lastRunAt",
    "lastFinishedAt",
    "_id",
    "createdAt",
    "lastChanged",
    "createdBy",
    "lastChangedBy",
)

#: Fields a client may not set at creation: the server owns them.
SERVER_OWNED_FIELDS: frozenset[str] = frozenset(CONTRACT_FIELDS) - {"name", "data"}


#: A W3C trace context as stored with a task: ``(traceparent, tracestate)`` (issue 16).
TraceContext = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Task:
    """One task. Frozen: a change is a new record made with :meth:`evolve`.

    Invariant: ``0 <= current_step <= total_step``.
    """

    id: str
    name: str
    data: dict[str, Any]
    status: Status
    org_id: str
    created_by: str
    created_at: int
    current_step: int = 0
    total_step: int = 0
    fail_reason: str = ""
    last_run_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_changed: int = 0
    last_changed_by: str = ""
    project_id: str | None = None
    #: Claims made so far; the current claim's fencing token.
    attempts: int = 0
    max_attempts: int = 1
    #: Unix time before which the task may not be claimed: its ``runAt`` (run later), or
    #: the retry back-off's end. One column, one mechanism for both.
    run_after: float = 0.0
    #: Unix time at which the running attempt's lease lapses, if active.
    lease_expires_at: float | None = None
    worker_id: str | None = None
    #: Bumped on every change; the ETag and the long-poll compare it.
    version: int = 1
    #: The task this one re-runs (``POST /tasks/{id}/rerun``), if any.
    rerun_of: str | None = None
    #: Higher is claimed first (within a lane: see docs/scheduling-claims.md).
    priority: int = 0
    #: The task type's queue; workers serve some queues.
    queue: str = "default"
    #: Running attempts sharing this key (per task type) are capped (issue 14); set at
    #: creation from the task's data by the type's ``concurrency_key``.
    concurrency_key: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.current_step <= self.total_step:
            raise ValueError(
                "currentStep must be within 0..totalStep, "
                f"got {self.current_step}/{self.total_step}"
            )

    def evolve(self, **changes: Any) -> Task:
        """A copy with ``changes`` applied (invariants checked again)."""
        return dataclasses.replace(self, **changes)
