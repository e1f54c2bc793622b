"""When and in what order a task runs: its due time (run later), priority and queue.

The rules for the create options ``runAt``, ``delaySeconds`` and ``priority`` and for queue
names, in one place for the API, the service and the settings. No I/O: the caller gives the
time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument

#: Priorities a task may have: higher runs first within its lane (0 is the default).
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
#: Furthest ahead a task may be scheduled (366 days): a typo of a year is caught.
MAX_DELAY = 366 * 86400.0
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
QUEUE_RULE = "a queue name is 1 to 64 letters, digits, '.', '_' or '-', starting alphanumeric"


def valid_queue(name: str) -> bool:
    """True when ``name`` is a queue name (see :data:`QUEUE_RULE`)."""
    return bool(_QUEUE.match(name))


def check_priority(value: Any, field: str = "priority") -> int:
    """``value`` as a priority, or InvalidArgument naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field} must be an integer")
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise InvalidArgument(f"{field} must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
    return value


def due_time(run_at: Any, delay_seconds: Any, now: float) -> float:
    """The Unix time a new task is due: ``runAt`` (ISO 8601 with an offset, or Unix
    seconds), or ``now + delaySeconds``, or ``now``. A time in the past means now."""
    if run_at is not None and delay_seconds is not None:
        raise InvalidArgument("give runAt or delaySeconds, not both")
    if delay_seconds is not None:
        return now + _delay(delay_seconds)
    if run_at is None:
        return now
    when = _instant(run_at)
    if when - now > MAX_DELAY:
        raise InvalidArgument("runAt must be at most 366 days ahead")
    return max(when, now)


def _delay(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument("delaySeconds must be a number of seconds")
    if not 0 <= value <= MAX_DELAY:
        raise InvalidArgument(f"delaySeconds must be between 0 and {MAX_DELAY:.0f}")
    return float(value)


def _instant(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidArgument("runAt must be an ISO 8601 date-time or Unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise InvalidArgument("runAt must be a finite, non-negative number of Unix seconds")
        return float(value)
    if not isinstance(value, str):
        raise InvalidArgument("runAt must be an ISO 8601 date-time or Unix seconds")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"runAt is not an ISO 8601 date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise InvalidArgument("runAt needs a UTC offset (e.g. 2030-01-01T09:00:00Z)")
    return parsed.timestamp()


def upcoming(
    tasks: Iterable[Task], scope: Scope, now: float, after: tuple[float, str] | None, limit: int
) -> list[Task]:
    """Queued tasks of ``scope`` not yet due, soonest first (then by id), after the keyset
    position ``after`` (due time, id): the SQL stores' ``upcoming`` for tasks in memory."""
    start = (now, "\uffff") if after is None else max(after, (now, "\uffff"))
    waiting = [
        t
        for t in tasks
        if t.status is Status.QUEUED
        and t.run_after > now
        and scope.org_id == t.org_id
        and scope.project_id in (None, t.project_id)
        and (t.run_after, t.id) > start
    ]
    return sorted(waiting, key=lambda t: (t.run_after, t.id))[:limit]
