"""The worker registry as the client sees it (``GET /workers``, issue 16), and the warning a
create answer may carry (``X-Tasktrack-Warning``).

Standalone like :mod:`tasktrack.client.models`: states are plain strings, so a newer server's
state never breaks an older client.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tasktrack.client import core
from tasktrack.client.models import MalformedTask, _get, _rfc3339

WARNING_HEADER = "X-Tasktrack-Warning"


class ServerWarning(UserWarning):
    """The server accepted a request but warns about it (``X-Tasktrack-Warning``), e.g.
    ``no-live-worker: …`` when no live worker serves a new task's type."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One registered worker."""

    id: str
    host: str
    pid: int
    #: live, stopped or dead.
    state: str
    started_at: datetime | None
    last_heartbeat_at: datetime | None
    stopped_at: datetime | None
    task_types: tuple[str, ...]
    queues: tuple[str, ...]
    concurrency: int
    #: Attempts it runs now, of every organisation.
    running: int
    #: Ids of the running tasks of the caller's own organisation.
    running_task_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, obj: Any) -> WorkerInfo:
        """Parse one item of the workers list; raises MalformedTask if it is not one."""
        if not isinstance(obj, dict):
            raise MalformedTask("a worker must be a JSON object")
        attempts = [a for a in _get(obj, "runningAttempts", list, []) if isinstance(a, dict)]
        return cls(
            id=_get(obj, "id", str),
            host=_get(obj, "host", str, ""),
            pid=_get(obj, "pid", int, 0),
            state=_get(obj, "state", str),
            started_at=_rfc3339(obj, "startedAt"),
            last_heartbeat_at=_rfc3339(obj, "lastHeartbeatAt"),
            stopped_at=_rfc3339(obj, "stoppedAt"),
            task_types=tuple(_get(obj, "taskTypes", list, [])),
            queues=tuple(_get(obj, "queues", list, [])),
            concurrency=_get(obj, "concurrency", int, 0),
            running=_get(obj, "running", int, 0),
            running_task_ids=tuple(
                str(a.get("taskId", "")) for a in attempts if isinstance(a, dict)
            ),
        )


@dataclass(frozen=True, slots=True)
class Workers:
    """The registry: every worker, and the task types some live worker serves."""

    items: list[WorkerInfo]
    live_task_types: frozenset[str]

    def serves(self, name: str) -> bool:
        """Whether a live worker serves task type ``name``."""
        return name in self.live_task_types


def workers_from_json(obj: Any) -> Workers:
    if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
        raise MalformedTask("a workers reply must be an object with an items list")
    items = [WorkerInfo.from_json(item) for item in obj["items"]]
    return Workers(items, frozenset(_get(obj, "liveTaskTypes", list, [])))


def workers_request(api: core.Api, state: str | None = None) -> core.RequestSpec:
    """``GET /workers`` (``state``: only live, stopped or dead ones; a comma list)."""
    params = (("state", state),) if state else ()
    return core.RequestSpec("GET", api.base_path + "/workers", params)


def parse_workers(response: httpx.Response) -> Workers:
    return core._decode(response, workers_from_json)


def warn_from(response: httpx.Response) -> httpx.Response:
    """Issue a :class:`ServerWarning` for the answer's warning header, if it has one."""
    text = response.headers.get(WARNING_HEADER)
    if text and response.status_code < 300:
        warnings.warn(ServerWarning(text), stacklevel=3)
    return response
