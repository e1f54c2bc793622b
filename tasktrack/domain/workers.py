"""The worker registry's values: what a worker says about itself, and when it counts as dead.

A worker writes its :class:`WorkerInfo` every ``heartbeat_interval`` seconds. Readers decide
its state from the row alone (the interval travels with it), so an API process needs no
knowledge of the workers' settings: a worker is *live* while its last heartbeat is younger
than :data:`MISSED_BEATS` intervals, *stopped* once it deregistered on a clean shutdown, and
*dead* otherwise (killed, frozen, cut off from the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Heartbeats a worker may miss before it counts as dead. Three, not one: a loaded machine or
#: a slow commit delays a beat by a second now and then, and one late beat must not make
#: every create warn that nobody serves its type.
MISSED_BEATS = 3
#: The queue every task and worker belongs to until queues exist (the scheduling work adds
#: more; the registry already carries the field so that a worker's queues show up unchanged).
DEFAULT_QUEUE = "default"


class WorkerState(StrEnum):
    """What a registry row says about its worker now. Values are the wire strings."""

    LIVE = "live"
    #: Deregistered on a clean shutdown.
    STOPPED = "stopped"
    #: Missed :data:`MISSED_BEATS` heartbeats without deregistering.
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class RunningAttempt:
    """One attempt a worker is running, as of its last heartbeat."""

    task_id: str
    attempt: int
    #: The task's organisation: readers of other organisations see the attempt counted only.
    org_id: str
    name: str
    started_at: float


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One worker as its last heartbeat described it (times are Unix seconds)."""

    id: str
    host: str
    pid: int
    started_at: float
    heartbeat_at: float
    #: Seconds between the worker's heartbeats (its liveness is judged against this).
    heartbeat_interval: float
    task_types: tuple[str, ...]
    queues: tuple[str, ...]
    concurrency: int
    running: tuple[RunningAttempt, ...] = ()
    #: When it deregistered (clean shutdown); None while it runs or if it died.
    stopped_at: float | None = None

    def state(self, now: float) -> WorkerState:
        """Live, stopped or dead at ``now``."""
        if self.stopped_at is not None:
            return WorkerState.STOPPED
        if now - self.heartbeat_at > MISSED_BEATS * self.heartbeat_interval:
            return WorkerState.DEAD
        return WorkerState.LIVE

    def is_live(self, now: float) -> bool:
        return self.state(now) is WorkerState.LIVE


def live_task_types(workers: list[WorkerInfo], now: float) -> frozenset[str]:
    """The task types at least one live worker of ``workers`` serves."""
    return frozenset(t for w in workers if w.is_live(now) for t in w.task_types)
