"""A task's attempts as the client sees them (``GET /tasks/{taskId}/attempts``, issue 13).

Standalone like :mod:`tasktrack.client.models`: outcomes are plain strings, so a newer
server's outcome never breaks an older client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tasktrack.client import core
from tasktrack.client.models import MalformedTask, _get, _rfc3339


@dataclass(frozen=True, slots=True)
class TaskAttempt:
    """One run of a task: its number, worker, start and end, outcome and duration."""

    number: int
    worker_id: str
    started_at: datetime | None
    ended_at: datetime | None
    #: running, done, error, timeout, lost, cancelled or released.
    outcome: str
    reason: str
    duration_ms: int | None

    @classmethod
    def from_json(cls, obj: Any) -> TaskAttempt:
        """Parse one item of the attempts list; raises MalformedTask if it is not one."""
        if not isinstance(obj, dict):
            raise MalformedTask("an attempt must be a JSON object")
        duration = obj.get("durationMs")
        if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool)):
            raise MalformedTask("attempt field 'durationMs' must be an integer or null")
        return cls(
            number=_get(obj, "attempt", int),
            worker_id=_get(obj, "workerId", str, ""),
            started_at=_rfc3339(obj, "startedAt"),
            ended_at=_rfc3339(obj, "endedAt"),
            outcome=_get(obj, "outcome", str),
            reason=_get(obj, "reason", str, ""),
            duration_ms=duration,
        )


#: A task's attempts, oldest first (an alias: the clients' ``list`` method shadows the type).
Attempts = list[TaskAttempt]


def attempts_from_json(obj: Any) -> Attempts:
    """The ``items`` of an attempts reply, oldest first."""
    if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
        raise MalformedTask("an attempts reply must be an object with an items list")
    return [TaskAttempt.from_json(item) for item in obj["items"]]


def attempts_request(api: core.Api, task_id: str, project_id: str | None) -> core.RequestSpec:
    """``GET /tasks/{id}/attempts``."""
    params = (("projectId", project_id),) if project_id else ()
    return core.RequestSpec("GET", api._path(task_id, "attempts"), params)


def parse_attempts(response: httpx.Response) -> Attempts:
    """The attempts in a successful response; raises for an error or a malformed body."""
    return core._decode(response, attempts_from_json)
