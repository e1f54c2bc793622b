"""The document's component parameters: path id, paging, sort, filter, field filters."""

from __future__ import annotations

import re

from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.openapi.common import (
    ID_PATTERN,
    MAX_CURSOR_LENGTH,
    MAX_FILTER_LENGTH,
    MAX_SKIP,
    MAX_WAIT_SECONDS,
    JsonObject,
)
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import DEFAULT_LIMIT, FILTERABLE, MAX_LIMIT, SORTABLE

#: The JSON media types (GET /schedules serves only these).
JSON_TYPES = ("application/hal+json", "application/json")


_NO_CSV = [m for m in SUPPORTED if m != "text/csv"]


def _accept(types: list[str]) -> list[str]:
    """An Accept parameter's values: the served types, then the wildcards that choose among
    them (a bare ``*`` is read as ``*/*``, see tasktrack.api.negotiation)."""
    return [*types, "*/*", "*"]


def _alternatives(pattern: str) -> str:
    """A pattern for one value of ``pattern`` or several separated by commas."""
    return f"^{pattern}(,{pattern})*$"


def _sort_pattern() -> str:
    """Sort keys, `_id` only as the last one; empty: the default order, as if left out."""
    fields = "|".join(re.escape(name) for name in SORTABLE if name != "_id")
    key, last = f"({fields})(:(asc|desc))?", "_id(:(asc|desc))?"
    return f"^(({key}(,{key})*(,{last})?)|{last})?$"


def _filter_parameter(field: str, kind: str) -> JsonObject:
    schema: JsonObject = {"type": "string", "minLength": 1}
    if kind == "int":
        number = "-?[0-9]{1,18}"
        schema["pattern"] = rf"^({number}(,{number})*|\[{number},{number}\])$"
        how = (
            "Equality filter on this integer field: one value, alternatives separated by commas "
            "(`1,2`), or a closed range `[a,b]` (`[1700000000,1700009999]`; `a` > `b` is a "
            "400)."
        )
    elif kind == "status":
        schema["pattern"] = _alternatives("({})".format("|".join(s.value for s in Status)))
        how = "Equality filter on the status: one status or alternatives (`queued,active`)."
    else:
        # Alternatives, none empty or blank (a 400), and no leading `[`: a range, which only
        # integer fields take (a 400).
        schema["pattern"] = r"^\s*[^\s\[,][^,]*(,[^,]*[^\s,][^,]*)*$"
        how = (
            "Equality filter on this field: one value or alternatives separated by commas, "
            "none of them empty (not starting with `[`, a range, which only integer fields "
            "take)."
        )
    if field in ("queue", "priority"):
        how += f" An extension (ours): the task's {field}, shown in its details."
    return {
        "name": field,
        "in": "query",
        "required": False,
        "description": how + " Repeating the parameter adds alternatives.",
        "schema": schema,
    }


def component_parameters() -> JsonObject:
    id_schema: JsonObject = {
        "type": "string",
        "pattern": ID_PATTERN,
        "minLength": 24,
        "maxLength": 24,
    }
    parameters: JsonObject = {
        "TaskId": {
            "name": "taskId",
            "in": "path",
            "required": True,
            "description": "The Id of the Task (a malformed id is a 400).",
            "schema": id_schema,
        },
        "TaskProjectId": {
            "name": "projectId",
            "in": "query",
            "required": False,
            "description": "Only match the task if it belongs to this project (404 otherwise).",
            "schema": id_schema,
        },
        "Accept": {
            "name": "Accept",
            "in": "header",
            "required": False,
            "description": (
                "The default media type is application/hal+json. Use application/json for pure "
                "data results. Any Accept header is negotiated (q-values and wildcards "
                "honoured); one that allows none of these types is a 406."
            ),
            "schema": {"type": "string", "enum": _accept(list(SUPPORTED))},
        },
        # The task's result, details and attempts have no CSV shape: CSV is a 406 there.
        "AcceptNoCsv": {
            "name": "Accept",
            "in": "header",
            "required": False,
            "description": (
                "The default media type is application/hal+json. Any Accept header is "
                "negotiated (q-values and wildcards honoured); one that allows none of these "
                "types (text/csv included: this resource has no CSV shape) is a 406."
            ),
            "schema": {"type": "string", "enum": _accept(_NO_CSV)},
        },
        # GET /schedules: JSON or HAL only.
        "AcceptJson": {
            "name": "Accept",
            "in": "header",
            "required": False,
            "description": (
                "The default media type is application/hal+json. Any Accept header is "
                "negotiated (q-values and wildcards honoured); one that allows neither JSON type "
                "is a 406."
            ),
            "schema": {"type": "string", "enum": _accept(list(JSON_TYPES))},
        },
        "IfNoneMatch": {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": (
                'ETag(s) of earlier reads (`W/"<id>.<version>"`, comma-separated): the reply '
                "is a 304 without a body while the task still has that version."
            ),
            "schema": {"type": "string"},
        },
        "Wait": {
            "name": "wait",
            "in": "query",
            "required": False,
            "description": (
                "Long-poll (ours): hold the reply up to this many seconds until the task "
                "changes from the version named by If-None-Match (without it: from the "
                "version it had when the request arrived). A terminal task is answered at "
                "once; if If-None-Match still matches at the end, the reply is a 304."
            ),
            "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS},
        },
        "EventsProjectId": {
            "name": "projectId",
            "in": "query",
            "required": False,
            "description": "Only changes of this project's tasks (a malformed id is a 400).",
            "schema": id_schema,
        },
        "Since": {
            "name": "since",
            "in": "query",
            "required": False,
            "description": (
                "Resume after this event id: changes since then are sent first and `ready` "
                "says resumed=true. Older than five minutes: a fresh start (reload). A future "
                "or malformed value is a 400."
            ),
            "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"},
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Page size.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
        "Skip": {
            "name": "skip",
            "in": "query",
            "required": False,
            "description": "Offset pagination: tasks to skip. Not combined with a cursor.",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SKIP, "default": 0},
        },
        "Next": {
            "name": "next",
            "in": "query",
            "required": False,
            "description": (
                "Cursor: the nextCursor of an earlier page, as given (opaque; any other "
                "value is a 400). Giving both `next` and `previous` is a 400."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
        },
        "Previous": {
            "name": "previous",
            "in": "query",
            "required": False,
            "description": (
                "Cursor: the previousCursor of an earlier page, as given (opaque; any other "
                "value is a 400). Giving both `next` and `previous` is a 400."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
        },
        "Sort": {
            "name": "sort",
            "in": "query",
            "required": False,
            "description": (
                "Comma-separated `field:asc` or `field:desc` (direction defaults to asc), "
                "e.g. `createdAt:desc,name:asc`; each field once (twice is a 400); `_id` only "
                "last (it is the implicit tiebreaker). Default: newest first. With a cursor it "
                "must be the cursor's sort. Sortable: " + ", ".join(SORTABLE) + "."
            ),
            "schema": {"type": "string", "pattern": _sort_pattern()},
        },
        "Filter": {
            "name": "filter",
            "in": "query",
            "required": False,
            "description": "Free text matched against name (case-insensitive substring).",
            "schema": {"type": "string", "maxLength": MAX_FILTER_LENGTH},
        },
        "ProjectId": {
            "name": "projectId",
            "in": "query",
            "required": False,
            "description": "Only list tasks of this project.",
            "schema": id_schema,
        },
    }
    for field, kind in FILTERABLE.items():
        parameters[f"field.{field}"] = _filter_parameter(field, kind)
    return parameters
