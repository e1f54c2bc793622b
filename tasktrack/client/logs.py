"""The client's side of ``GET /tasks/{taskId}/logs``: models, the request, the parse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tasktrack.client import core
from tasktrack.client.errors import UnexpectedResponse
from tasktrack.client.models import MalformedTask


@dataclass(frozen=True, slots=True)
class LogLine:
    """One stored log line of a task (``seq`` orders them; it is the ``after`` cursor)."""

    seq: int
    attempt: int
    at: datetime
    level: str
    message: str

    @classmethod
    def from_json(cls, obj: Any) -> LogLine:
        try:
            at = datetime.fromisoformat(str(obj["at"]).replace("Z", "+00:00"))
            return cls(int(obj["seq"]), int(obj["attempt"]), at, obj["level"], obj["message"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedTask(f"not a log line: {exc}") from None


@dataclass(frozen=True, slots=True)
class LogPage:
    """Lines after a cursor; ``next`` is the following read's ``after``; ``finished``: the task
    is terminal and no line follows (its log is complete)."""

    items: list[LogLine]
    next: int
    finished: bool

    @classmethod
    def from_json(cls, obj: Any) -> LogPage:
        if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
            raise MalformedTask("not a page of log lines")
        items = [LogLine.from_json(item) for item in obj["items"]]
        return cls(items, int(obj.get("next", 0)), bool(obj.get("finished")))


def read_logs(
    api: core.Api,
    task_id: str,
    after: int | None = None,
    limit: int | None = None,
    wait: float | None = None,
) -> core.RequestSpec:
    """``GET /tasks/{id}/logs`` with its cursor, page size and long poll."""
    given = (("after", after), ("limit", limit), ("wait", wait))
    params = tuple((key, str(value)) for key, value in given if value is not None)
    return core.RequestSpec("GET", api._path(task_id, "logs"), params, long_poll=wait or 0.0)


def parse_logs(response: httpx.Response) -> LogPage:
    """The page of log lines in a successful response."""
    core.check(response)
    try:
        return LogPage.from_json(response.json())
    except (MalformedTask, ValueError) as exc:
        raise UnexpectedResponse(response.status_code, f"not a page of log lines: {exc}") from None
