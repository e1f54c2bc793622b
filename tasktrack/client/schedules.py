"""The client's view of periodic schedules (``GET /schedules``, issue 14), no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tasktrack.client.core import Api, RequestSpec
from tasktrack.client.models import MalformedTask
from tasktrack.client.results import _parse


@dataclass(frozen=True, slots=True)
class Schedule:
    """One periodic schedule: what it creates, when, and when it last did."""

    key: str
    task: str
    cron: str
    timezone: str
    next_run: datetime
    last_run: datetime | None
    last_task_id: str | None

    @classmethod
    def from_json(cls, obj: Any) -> Schedule:
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            raise MalformedTask("a schedule must be a JSON object with a key")
        last = obj.get("lastRun")
        return cls(
            obj["key"],
            str(obj.get("task")),
            str(obj.get("cron")),
            str(obj.get("timezone")),
            datetime.fromisoformat(str(obj.get("nextRun"))),
            None if last is None else datetime.fromisoformat(str(last)),
            obj.get("lastTaskId"),
        )


def read_schedules(api: Api) -> RequestSpec:
    """``GET /schedules``."""
    return RequestSpec("GET", f"{api.base_path}/schedules")


def parse_schedules(response: httpx.Response) -> tuple[Schedule, ...]:
    def items(body: Any) -> tuple[Schedule, ...]:
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise MalformedTask("a schedule list must be a JSON object with items")
        return tuple(Schedule.from_json(item) for item in body["items"])

    return _parse(response, items)
