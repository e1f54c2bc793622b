"""What a task leaves behind once it has run: its result, its attempts, its log lines.

These live beside the task (their own tables and resources), never in the contract's 13
fields, which stay exactly as the seed defines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Largest handler return value stored, as compact JSON (UTF-8 bytes). A larger one fails
#: the attempt with a clear reason instead of being cut.
RESULT_MAX_BYTES = 1024 * 1024
#: Log lines kept per task; beyond it the oldest are dropped and a marker line says so.
LOG_LINES_PER_TASK = 1000
#: Longest log message stored (characters); longer ones are cut with a marker.
LOG_MESSAGE_MAX_CHARS = 8192


class Outcome(StrEnum):
    """How one attempt ended. Values are the wire strings of ``/attempts``."""

    #: Still running (never stored: read from the task itself).
    RUNNING = "running"
    #: The handler returned.
    DONE = "done"
    #: The handler raised (the task was retried if attempts remained).
    ERROR = "error"
    #: The handler ran past its task type's timeout and was stopped.
    TIMEOUT = "timeout"
    #: The worker stopped renewing the lease (it died or was cut off); recovered by a reaper.
    LOST = "lost"
    #: The handler stopped, or was stopped, on a cancel request.
    CANCELLED = "cancelled"
    #: Given back at worker shutdown; did not count as an attempt.
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One claim of a task by a worker, from start to end."""

    task_id: str
    number: int
    worker_id: str
    started_at: float
    ended_at: float | None
    outcome: Outcome
    reason: str = ""

    @property
    def duration(self) -> float | None:
        """Seconds the attempt ran, or None while it runs."""
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)


@dataclass(frozen=True, slots=True)
class TaskResult:
    """A ``done`` task's return value, as the compact JSON text the handler's value encoded to."""

    task_id: str
    attempt: int
    value_json: str
    created_at: float


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a handler logged. ``seq`` orders a task's lines and is the ``after`` cursor."""

    seq: int
    task_id: str
    attempt: int
    at: float
    level: str
    message: str
