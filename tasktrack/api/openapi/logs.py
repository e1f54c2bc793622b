"""The document's part for ``GET /tasks/{taskId}/logs`` (issue 13), under both prefixes."""

from __future__ import annotations

from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.openapi.common import MAX_WAIT_SECONDS, PREFIXES, TEXT_BODY, JsonObject, ref
from tasktrack.api.openapi.responses import replies
from tasktrack.domain.logs import DROPPED_LEVEL, LOG_LINES_PER_TASK
from tasktrack.service.logs import DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT

_LINE: JsonObject = {
    "type": "object",
    "required": ["seq", "attempt", "at", "level", "message"],
    "properties": {
        "seq": {"type": "integer", "description": "Orders the task's lines; the `after` cursor."},
        "attempt": {"type": "integer", "minimum": 1, "description": "The attempt that logged it."},
        "at": {"type": "string", "description": "When it was logged (ISO 8601, UTC)."},
        "level": {
            "type": "string",
            "description": (
                "The logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL), STDOUT/STDERR for "
                f"captured output, {DROPPED_LEVEL} for the marker of dropped lines."
            ),
        },
        "message": {"type": "string"},
    },
}
_PAGE: JsonObject = {
    "type": "object",
    "required": ["items", "next", "finished"],
    "properties": {
        "items": {"type": "array", "items": _LINE},
        "next": {"type": "integer", "description": "`after` for the next read."},
        "finished": {
            "type": "boolean",
            "description": "The task is terminal and no line follows: the log is complete.",
        },
    },
}
_HAL_PAGE: JsonObject = {
    **_PAGE,
    "properties": {**_PAGE["properties"], "_links": {"type": "object"}},
}


def _query(name: str, description: str, schema: JsonObject) -> JsonObject:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _operation(suffix: str) -> JsonObject:
    bodies = {"application/hal+json": _HAL_PAGE, "application/json": _PAGE}
    return {
        "operationId": "readTaskLogs" + suffix,
        "tags": ["Tasks"],
        "summary": "Read a task's log (ours)",
        "description": (
            "Lines the task's handler logged through `ctx.logger` (and, for task types "
            "registered with `capture_output=True`, its stdout/stderr), oldest first, with "
            f"their attempt. At most {LOG_LINES_PER_TASK} lines are kept per task: beyond "
            f"that the oldest are dropped and one {DROPPED_LEVEL} line says how many. With "
            "`wait`, the reply waits until a line after `after` exists or the task is "
            "terminal. CSV has one row per line, `next`/`finished` in Log-Next/Log-Finished."
        ),
        "parameters": [
            ref("parameters", "TaskId"),
            _query(
                "after",
                "Only lines with a greater seq (the previous reply's `next`).",
                # the route reads at most 18 digits (tasktrack.api.routes.logs._integer)
                {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
            ),
            _query(
                "limit",
                f"Most lines to return (default {DEFAULT_LOG_LIMIT}).",
                {"type": "integer", "minimum": 1, "maximum": MAX_LOG_LIMIT},
            ),
            _query(
                "wait",
                "Long-poll: seconds to wait for a new line.",
                {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS},
            ),
            ref("parameters", "Accept"),
        ],
        "responses": {
            "200": {
                "description": "Lines after `after`.",
                "content": {m: {"schema": bodies.get(m, TEXT_BODY)} for m in SUPPORTED},
            },
            **replies(
                "BadRequest",
                "Unauthorized",
                "NotFound",
                "NotAcceptable",
                "TooManyRequests",
                "InternalError",
            ),
        },
    }


def log_paths() -> dict[str, dict[str, JsonObject]]:
    """The logs route under both prefixes."""
    return {f"{p}/tasks/{{taskId}}/logs": {"get": _operation(s)} for p, s in PREFIXES.items()}
