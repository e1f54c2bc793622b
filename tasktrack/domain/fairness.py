"""Fair share between organisations: claims rotate round-robin over *lanes*.

A lane is one queue of one organisation. Each claim takes from one lane, in the lane's own
order (priority, higher first; then due time; then id), and the next claim of the same worker
takes from the next lane: the next queue the worker serves, and in it the organisation after
the one served last (wrapping round). So an organisation with 10,000 queued tasks and one
with 10 take turns, claim by claim, and priority orders work *within* an organisation: a
tenant's own priorities cannot starve another tenant. (Why round-robin, and not deficit
round-robin or one global priority order: docs/scheduling-claims.md.)

No I/O: the stores keep one :class:`Rotation` per worker and ask it which lane comes next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tasktrack.domain.task import Task

#: The queue of a task type that names none.
DEFAULT_QUEUE = "default"


@dataclass(frozen=True, slots=True)
class Lane:
    """A queue and an organisation. ``org_id`` None means "the organisation after
    ``after`` that has queued tasks in this queue, wrapping round" (the store finds it in
    the claim statement itself)."""

    queue: str
    org_id: str | None
    after: str = ""


class Rotation:
    """Where one worker's round-robin stands: whose turn it is in each queue, and which
    queue is next. Event-loop only (one worker, one claim at a time)."""

    def __init__(self) -> None:
        self._turn = 0
        self._last: dict[str, str] = {}

    def next_lane(self, queues: Sequence[str]) -> Lane:
        """The lane to try first: the next queue, and the organisation after the one it
        served last."""
        queue = queues[self._turn % len(queues)]
        self._turn += 1
        return Lane(queue, None, self._last.get(queue, ""))

    def last(self, queue: str) -> str:
        """The organisation ``queue`` served (or visited) last; "" for none yet."""
        return self._last.get(queue, "")

    def served(self, queue: str, org_id: str) -> None:
        """A claim took work from (or found none in) this lane: the next turn in ``queue``
        goes past it."""
        self._last[queue] = org_id

    def order(self, queue: str, org_ids: Iterable[str]) -> list[Lane]:
        """The lanes of ``queue`` (its organisations with queued work, any order) in turn
        order: the organisations after the one served last first, then the rest."""
        last = self._last.get(queue, "")
        ordered = sorted(set(org_ids))
        later = [o for o in ordered if o > last]
        return [Lane(queue, o) for o in later + [o for o in ordered if o <= last]]


def take_in_turn(
    queued: Iterable[Task],
    ready: Callable[[Task], bool],
    rotation: Rotation,
    queues: Sequence[str],
    limit: int,
) -> list[Task]:
    """Up to ``limit`` of the ``queued`` tasks that are ``ready`` (due, of the worker's
    types), as the SQL stores' claim takes them: from the lane in turn (the next queue, and
    in it the organisation after the last served, among those with queued tasks); only when
    that lane has none ready, from the next lanes in turn order. Each lane in claim order.
    For stores that hold tasks in memory; records what it visited in ``rotation``."""
    if not queues or limit < 1:
        return []
    lanes: dict[tuple[str, str], list[Task]] = {}
    for task in queued:
        if task.queue in queues:
            lanes.setdefault((task.queue, task.org_id), []).append(task)
    start = queues.index(rotation.next_lane(queues).queue)
    order = [
        lane
        for queue in [*queues[start:], *queues[:start]]
        for lane in rotation.order(queue, (org for q, org in lanes if q == queue))
    ]
    out: list[Task] = []
    for i, lane in enumerate(order):
        if len(out) >= limit or (i == 1 and out):  # the lane in turn had some: enough
            break
        org = lane.org_id or ""
        rotation.served(lane.queue, org)
        tasks = sorted((t for t in lanes[(lane.queue, org)] if ready(t)), key=claim_order)
        out += tasks[: limit - len(out)]
    return out


def claim_order(task: Task) -> tuple[int, float, str]:
    """The order a claim takes a lane's tasks in."""
    return (-task.priority, task.run_after, task.id)
