"""Which outcome an attempt-ending move records, and how an ended attempt is read back.

Shared by the SQL store (:mod:`~tasktrack.storage.lifecycle_sql`) and the in-memory double,
so both record the same ``task_attempts`` rows for the same moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tasktrack.domain.history import Attempt, Outcome
from tasktrack.domain.lifecycle import RUNNING, Status
from tasktrack.domain.task import Task

#: The outcome each attempt-ending verb records, unless it ends the task ``cancelled``.
_BY_VERB = {
    "finish": Outcome.DONE,
    "fail": Outcome.ERROR,
    "stop": Outcome.CANCELLED,
    "retry": Outcome.ERROR,
    "release": Outcome.RELEASED,
    "expire": Outcome.LOST,
    "lose": Outcome.LOST,
}

#: The columns of a ``task_attempts`` row, in :class:`Attempt` order after the task id.
ATTEMPT_COLUMNS = "task_id, attempt, worker_id, started_at, ended_at, outcome, reason"


def ending(verb: str, target: Status, outcome: Outcome | None = None) -> Outcome:
    """The outcome ``verb`` records when it moves a running task to ``target``.

    A move into ``cancelled`` (a cancelling task retried, released or expired) is a
    cancellation whatever the verb; ``outcome`` overrides the verb's own (a timeout fails
    with TIMEOUT)."""
    if target is Status.CANCELLED:
        return Outcome.CANCELLED
    return outcome or _BY_VERB[verb]


def ended_attempt(task: Task, now: float, outcome: Outcome, reason: str) -> Attempt:
    """The attempt ``task`` (as it was before the move) ends at ``now``."""
    started = task.last_run_at.timestamp() if task.last_run_at else now
    return Attempt(task.id, task.attempts, task.worker_id or "", started, now, outcome, reason)


def running_attempt(task: Task) -> Attempt | None:
    """The attempt running now, read from the task itself (never stored), if any."""
    if task.status not in RUNNING or task.last_run_at is None:
        return None
    started = task.last_run_at.timestamp()
    return Attempt(task.id, task.attempts, task.worker_id or "", started, None, Outcome.RUNNING)


def attempt_from_row(row: Sequence[Any]) -> Attempt:
    """An :class:`Attempt` from a row of :data:`ATTEMPT_COLUMNS`."""
    task_id, number, worker, started, ended, outcome, reason = row
    return Attempt(task_id, int(number), worker, started, ended, Outcome(outcome), reason)


def with_running(ended: Iterable[Attempt], task: Task) -> list[Attempt]:
    """``ended`` oldest first, then the running attempt unless it has ended meanwhile."""
    out = sorted(ended, key=lambda a: a.number)
    running = running_attempt(task)
    if running is not None and all(a.number != running.number for a in out):
        out.append(running)
    return out
