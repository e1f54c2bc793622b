"""The client's view of a task's result and details, and the requests for them (no I/O).

Kept beside :mod:`tasktrack.client.core` so that the sync and async clients share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from tasktrack.client.core import Api, RequestSpec, check
from tasktrack.client.errors import UnexpectedResponse
from tasktrack.client.models import MalformedTask, TaskStatus

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TaskResult:
    """A finished task's outcome: what its handler returned (``value``; None if nothing, or
    the task did not end done) and, for an ``error`` task, why it failed."""

    task_id: str
    status: TaskStatus
    value: Any
    fail_reason: str

    @classmethod
    def from_json(cls, obj: Any) -> TaskResult:
        """Parse a ``GET /tasks/{id}/result`` body."""
        if not isinstance(obj, dict) or not isinstance(obj.get("taskId"), str):
            raise MalformedTask("a task result must be a JSON object with a taskId")
        try:
            status = TaskStatus(str(obj.get("status")))
        except ValueError:
            raise MalformedTask(f"unknown task status {obj.get('status')!r}") from None
        return cls(obj["taskId"], status, obj.get("result"), str(obj.get("failReason") or ""))


@dataclass(frozen=True, slots=True)
class TaskDetails:
    """Facts beside a task's 13 fields: its attempts, its re-run links, whether it has a result."""

    task_id: str
    attempts: int
    max_attempts: int
    rerun_of: str | None
    reruns: list[str]
    has_result: bool
    #: The object exactly as received, extra fields included.
    raw: dict[str, Any]
    #: The ``uniqueKey`` the task was created with (issue 14), if any.
    unique_key: str | None = None
    #: Scheduling (issue 14): when it may run, its priority and its queue.
    run_at: datetime | None = None
    priority: int = 0
    queue: str = "default"
    #: The concurrency key computed at creation (issue 14); None when the task has none.
    concurrency_key: str | None = None

    @classmethod
    def from_json(cls, obj: Any) -> TaskDetails:
        """Parse a ``GET /tasks/{id}/details`` body."""
        if not isinstance(obj, dict) or not isinstance(obj.get("_id"), str):
            raise MalformedTask("task details must be a JSON object with an _id")
        return cls(
            task_id=obj["_id"],
            attempts=int(obj.get("attempts", 0)),
            max_attempts=int(obj.get("maxAttempts", 0)),
            rerun_of=obj.get("rerunOf"),
            reruns=[str(r) for r in obj.get("reruns", [])],
            has_result=bool(obj.get("hasResult")),
            raw=obj,
            unique_key=obj.get("uniqueKey"),
            run_at=_moment(obj.get("runAt")),
            priority=int(obj.get("priority", 0)),
            queue=str(obj.get("queue", "default")),
            concurrency_key=_optional_str(obj.get("concurrencyKey")),
        )


def _moment(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedTask(f"runAt is not a date-time: {text[:40]!r}") from None


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _path(api: Api, task_id: str, leaf: str) -> str:
    return f"{api.base_path}/tasks/{quote(task_id, safe='')}/{leaf}"


def _project(project_id: str | None) -> tuple[tuple[str, str], ...]:
    return (("projectId", project_id),) if project_id is not None else ()


def read_result(api: Api, task_id: str, project_id: str | None = None) -> RequestSpec:
    """``GET /tasks/{id}/result``."""
    return RequestSpec("GET", _path(api, task_id, "result"), _project(project_id))


def read_details(api: Api, task_id: str, project_id: str | None = None) -> RequestSpec:
    """``GET /tasks/{id}/details``."""
    return RequestSpec("GET", _path(api, task_id, "details"), _project(project_id))


def rerun_task(api: Api, task_id: str, project_id: str | None = None) -> RequestSpec:
    """``POST /tasks/{id}/rerun`` (the reply is the new task)."""
    return RequestSpec("POST", _path(api, task_id, "rerun"), _project(project_id))


def parse_result(response: httpx.Response) -> TaskResult:
    """The result in a successful response (a 409 while unfinished raises Conflict)."""
    return _parse(response, TaskResult.from_json)


def parse_details(response: httpx.Response) -> TaskDetails:
    """The details in a successful response."""
    return _parse(response, TaskDetails.from_json)


def _parse(response: httpx.Response, parse: Callable[[Any], T]) -> T:
    check(response)
    try:
        return parse(response.json())
    except MalformedTask as exc:
        raise UnexpectedResponse(response.status_code, str(exc)) from None
    except ValueError:
        raise UnexpectedResponse(response.status_code, "the body is not JSON") from None
