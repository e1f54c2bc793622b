"""Typed task objects, parsed from the contract's JSON (fields in camelCase on the wire).

The client stands alone: nothing here imports the server's domain, so it talks to any server of
this API. Extra fields (``_links`` of HAL, extensions of other servers) are tolerated and kept in
:attr:`Task.raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    """Where a task is in its life; values are the contract's wire strings."""

    QUEUED = "queued"
    ACTIVE = "active"
    DONE = "done"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    ERROR = "error"

    @property
    def is_terminal(self) -> bool:
        """``done``, ``cancelled`` and ``error`` never change again."""
        return self in (TaskStatus.DONE, TaskStatus.CANCELLED, TaskStatus.ERROR)


#: The contract's 13 fields, in the contract's order.
CONTRACT_FIELDS: tuple[str, ...] = (
    "name",
    "data",
    "status",
    "currentStep",
    "totalStep",
    "failReason",
    "lastRunAt",
    "lastFinishedAt",
    "_id",
    "createdAt",
    "lastChanged",
    "createdBy",
    "lastChangedBy",
)


class MalformedTask(ValueError):
    """A JSON object that is not a task of the contract."""


@dataclass(frozen=True, slots=True)
class Task:
    """One task, as a server of the Tasks API described it."""

    id: str
    name: str
    data: dict[str, Any]
    status: TaskStatus
    current_step: int
    total_step: int
    fail_reason: str
    last_run_at: datetime | None
    last_finished_at: datetime | None
    created_at: datetime
    last_changed: datetime
    created_by: str
    last_changed_by: str
    #: The object exactly as received, extra fields included.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        """Whether the task has finished (done, cancelled or error)."""
        return self.status.is_terminal

    @classmethod
    def from_json(cls, obj: Any) -> Task:
        """Parse a contract task object; raises :class:`MalformedTask` if it is not one."""
        if not isinstance(obj, dict):
            raise MalformedTask(f"a task must be a JSON object, got {type(obj).__name__}")
        try:
            status = TaskStatus(_get(obj, "status", str))
        except ValueError:
            raise MalformedTask(f"unknown task status {obj.get('status')!r}") from None
        return cls(
            id=_get(obj, "_id", str),
            name=_get(obj, "name", str),
            data=_get(obj, "data", dict),
            status=status,
            current_step=_get(obj, "currentStep", int),
            total_step=_get(obj, "totalStep", int),
            fail_reason=_get(obj, "failReason", str, ""),
            last_run_at=_rfc3339(obj, "lastRunAt"),
            last_finished_at=_rfc3339(obj, "lastFinishedAt"),
            created_at=_unix(obj, "createdAt"),
            last_changed=_unix(obj, "lastChanged"),
            created_by=_get(obj, "createdBy", str, ""),
            last_changed_by=_get(obj, "lastChangedBy", str, ""),
            raw=obj,
        )

    def to_json(self) -> dict[str, Any]:
        """The contract's 13 fields in order (as received, so times stay in wire form)."""
        return {name: self.raw.get(name) for name in CONTRACT_FIELDS}


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of a task list; pass a cursor back to ``list_page`` for the next one."""

    items: tuple[Task, ...]
    total: int
    next_cursor: str | None
    previous_cursor: str | None

    @classmethod
    def from_json(cls, obj: Any) -> TaskPage:
        """Parse ``{"items", "total", "nextCursor", "previousCursor"}``."""
        if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
            raise MalformedTask("a task list must be a JSON object with an items array")
        total = obj.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise MalformedTask("a task list must have an integer total")
        return cls(
            items=tuple(Task.from_json(item) for item in obj["items"]),
            total=total,
            next_cursor=_cursor(obj, "nextCursor"),
            previous_cursor=_cursor(obj, "previousCursor"),
        )


_MISSING = object()


def _get(obj: dict[str, Any], key: str, kind: type, default: Any = _MISSING) -> Any:
    value = obj.get(key, default)
    if value is _MISSING:
        raise MalformedTask(f"task field {key!r} is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedTask(f"task field {key!r} must be {kind.__name__}, got {value!r:.60}")
    return value


def _rfc3339(obj: dict[str, Any], key: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedTask(f"task field {key!r} must be a date-time string or null")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedTask(
            f"task field {key!r} is not an RFC 3339 date-time: {value!r:.60}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _unix(obj: dict[str, Any], key: str) -> datetime:
    seconds = _get(obj, key, int)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedTask(f"task field {key!r} is out of range: {seconds}") from None


def _cursor(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedTask(f"{key} must be a string or null")
    return value
