"""Value objects for listing tasks: filters, sort, cursors, pages.

Cursors are keyset positions (the sort key values of a boundary row), so a walk visits each
task exactly once even while tasks are created; they are opaque base64url JSON to clients.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument

#: Contract field -> ``Task`` attribute, for every field a list can sort or filter by. The
#: SQL stores' columns bear the attributes' names, so this is their column map too: the one
#: place a contract field is mapped.
FIELDS: dict[str, str] = {
    "_id": "id",
    "name": "name",
    "status": "status",
    "currentStep": "current_step",
    "totalStep": "total_step",
    "createdAt": "created_at",
    "lastChanged": "last_changed",
    "createdBy": "created_by",
    "lastChangedBy": "last_changed_by",
    "lastRunAt": "last_run_at",
    "lastFinishedAt": "last_finished_at",
    # Extensions (issue 14): filters only, not task fields (see the task's details).
    "queue": "queue",
    "priority": "priority",
}

#: Contract field -> kind, for the fields a list can be sorted by.
SORTABLE: dict[str, str] = {
    "createdAt": "int",
    "lastChanged": "int",
    "name": "str",
    "status": "str",
    "currentStep": "int",
    "totalStep": "int",
    "lastRunAt": "time",
    "lastFinishedAt": "time",
    "_id": "str",
}

#: Contract field -> kind, for the fields a list can be filtered by equality (int: also range).
FILTERABLE: dict[str, str] = {
    "_id": "str",
    "name": "str",
    "status": "status",
    "currentStep": "int",
    "totalStep": "int",
    "createdAt": "int",
    "lastChanged": "int",
    "createdBy": "str",
    "lastChangedBy": "str",
    "queue": "str",
    "priority": "int",
}

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
Direction = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    direction: Direction


DEFAULT_SORT: tuple[SortKey, ...] = (SortKey("createdAt", "desc"),)


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """``field`` equals one of ``values``, or lies within the closed ``range``."""

    field: str
    values: tuple[str | int, ...] = ()
    range: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position: continue ``after`` (next page) or ``before`` (previous page) ``values``.

    ``values`` holds one value per key of ``sort`` (``_id`` is always last, as tiebreaker).
    """

    direction: Literal["next", "previous"]
    sort: tuple[SortKey, ...]
    values: tuple[Any, ...]

    def encode(self) -> str:
        payload = {
            "d": self.direction[0],
            "s": [f"{k.field}:{k.direction}" for k in self.sort],
            "v": list(self.values),
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, direction: Literal["next", "previous"]) -> Cursor:
        """Parse a token made by :meth:`encode`; anything else is an :class:`InvalidArgument`."""
        bad = InvalidArgument(f"malformed {direction} cursor")
        if not token or len(token) > 2048:
            raise bad
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise bad from None
        if not isinstance(payload, dict) or payload.get("d") != direction[0]:
            raise bad
        sort_spec, values = payload.get("s"), payload.get("v")
        if not isinstance(sort_spec, list) or not isinstance(values, list):
            raise bad
        try:
            sort = parse_sort(",".join(str(s) for s in sort_spec), tiebreak=False)
        except InvalidArgument:
            raise bad from None
        if len(values) != len(sort) or sort[-1].field != "_id":
            raise bad
        for key, value in zip(sort, values, strict=True):
            if not _valid_cursor_value(SORTABLE[key.field], value):
                raise bad
        return cls(direction, sort, tuple(values))


def _valid_cursor_value(kind: str, value: Any) -> bool:
    if kind == "str":
        return isinstance(value, str) and len(value) <= 1000
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int) and -_INT_LIMIT <= value <= _INT_LIMIT
    # "time": Unix seconds as stored, -1 for never; NaN and infinities are not times.
    return isinstance(value, int | float) and math.isfinite(value) and abs(value) < 1e11


def parse_sort(spec: str | None, *, tiebreak: bool = True) -> tuple[SortKey, ...]:
    """Parse ``field:asc,field:desc``; ``_id`` is appended as the tiebreaker."""
    if spec is None or spec.strip() == "":
        keys: list[SortKey] = list(DEFAULT_SORT)
    else:
        keys = []
        for part in spec.split(","):
            fname, _, direction = part.strip().partition(":")
            direction = direction or "asc"
            if fname not in SORTABLE:
                raise InvalidArgument(
                    f"cannot sort by {fname!r}; sortable fields: {', '.join(SORTABLE)}"
                )
            if direction not in ("asc", "desc"):
                raise InvalidArgument(f"sort direction must be asc or desc, got {direction!r}")
            if any(k.field == fname for k in keys):
                raise InvalidArgument(f"sort field {fname!r} given twice")
            keys.append(SortKey(fname, direction))  # type: ignore[arg-type]
    if tiebreak and keys[-1].field != "_id":
        if any(k.field == "_id" for k in keys):
            raise InvalidArgument("_id must be the last sort key")
        keys.append(SortKey("_id", keys[-1].direction))
    return tuple(keys)


def parse_field_filter(fname: str, raw: str) -> FieldFilter:
    """Parse ``a,b,c`` alternatives, or ``[lo,hi]`` for an integer field."""
    kind = FILTERABLE.get(fname)
    if kind is None:
        raise InvalidArgument(f"unknown filter field {fname!r}")
    raw = raw.strip()
    if raw.startswith("["):
        if kind != "int":
            raise InvalidArgument(f"{fname} does not take a range")
        if not raw.endswith("]"):
            raise InvalidArgument(f"malformed range for {fname}: expected [a,b]")
        lo_hi = raw[1:-1].split(",")
        if len(lo_hi) != 2:
            raise InvalidArgument(f"malformed range for {fname}: expected [a,b]")
        lo, hi = (_parse_int(fname, x) for x in lo_hi)
        if lo > hi:
            raise InvalidArgument(f"empty range for {fname}: {lo} > {hi}")
        return FieldFilter(fname, range=(lo, hi))
    parts = [p.strip() for p in raw.split(",")]
    if any(p == "" for p in parts):
        raise InvalidArgument(f"empty value in filter {fname}")
    values: list[str | int] = []
    for p in parts:
        if kind == "int":
            values.append(_parse_int(fname, p))
        elif kind == "status":
            if p not in Status._value2member_map_:
                raise InvalidArgument(
                    f"unknown status {p!r}; expected one of {', '.join(s.value for s in Status)}"
                )
            values.append(p)
        else:
            values.append(p)
    return FieldFilter(fname, values=tuple(values))


_INT_LIMIT = 2**63 - 1


def _parse_int(fname: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidArgument(f"{fname} must be an integer, got {text.strip()!r}") from None
    if not -_INT_LIMIT <= value <= _INT_LIMIT:
        raise InvalidArgument(f"{fname} is out of range")
    return value


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose tasks a query may see: one organisation, optionally narrowed to a project."""

    org_id: str
    project_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListQuery:
    scope: Scope
    filters: tuple[FieldFilter, ...] = ()
    text: str | None = None
    sort: tuple[SortKey, ...] = field(default_factory=lambda: parse_sort(None))
    limit: int = DEFAULT_LIMIT
    skip: int = 0
    cursor: Cursor | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")
        if self.skip < 0:
            raise InvalidArgument(f"skip must be >= 0, got {self.skip}")
        if self.cursor is not None and self.skip:
            raise InvalidArgument("skip cannot be combined with a cursor")


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[Task, ...]
    total: int
    next_cursor: Cursor | None
    previous_cursor: Cursor | None


def sort_values(task: Task, sort: tuple[SortKey, ...]) -> tuple[Any, ...]:
    """The values of ``task`` for each sort key, as stored (times as Unix floats, None as -1)."""
    return tuple(sort_value(task, k.field) for k in sort)


def sort_value(task: Task, fname: str) -> Any:
    """The value of contract field ``fname`` of ``task`` as stored: statuses as their wire
    string, times as Unix seconds (-1 for never)."""
    value = getattr(task, FIELDS[fname])
    if isinstance(value, Status):
        return value.value
    if isinstance(value, datetime):
        return value.timestamp()
    return -1.0 if value is None and fname in _TIMES else value


_TIMES = frozenset(f for f, kind in SORTABLE.items() if kind == "time")
