"""The document's part for a task's result, its details and re-running it (issue 13)."""

from __future__ import annotations

from tasktrack.api.openapi.common import ID_PATTERN, TEXT_BODY, JsonObject, ref
from tasktrack.api.openapi.responses import problem, replies
from tasktrack.domain.scheduling import MAX_PRIORITY, MIN_PRIORITY

_ID: JsonObject = {"type": "string", "pattern": ID_PATTERN}
_LINKS: JsonObject = {
    "type": "object",
    "required": ["self", "task"],
    "properties": {"self": ref("schemas", "Link"), "task": ref("schemas", "Link")},
}
_RESULT: JsonObject = {
    "type": "object",
    "required": ["taskId", "status", "result", "failReason"],
    "properties": {
        "taskId": _ID,
        "status": {"type": "string", "enum": ["done", "error", "cancelled"]},
        "result": {"description": "The handler's return value (any JSON; null if none)."},
        "failReason": {"type": "string"},
    },
}
_DETAILS: JsonObject = {
    "type": "object",
    "required": [
        "_id",
        "attempts",
        "maxAttempts",
        "rerunOf",
        "reruns",
        "hasResult",
        "runAt",
        "priority",
        "queue",
        "concurrencyKey",
    ],
    "properties": {
        "_id": _ID,
        "attempts": {"type": "integer", "minimum": 0},
        "maxAttempts": {"type": "integer", "minimum": 1},
        "rerunOf": {"oneOf": [_ID, {"type": "null"}]},
        "reruns": {"type": "array", "items": _ID, "maxItems": 100},
        "hasResult": {"type": "boolean"},
        "uniqueKey": {
            "oneOf": [{"type": "string", "maxLength": 255}, {"type": "null"}],
            "description": "The uniqueKey create option the task was created with (issue 14).",
        },
        "runAt": {
            "type": "string",
            "format": "date-time",
            "description": "When the task may be claimed (a queued task waits until then; "
            "set by the create's runAt or delaySeconds, and by a retry's back-off), UTC with "
            "milliseconds.",
        },
        "priority": {
            "type": "integer",
            "minimum": MIN_PRIORITY,
            "maximum": MAX_PRIORITY,
            "description": "Higher is claimed first within its organisation's queue.",
        },
        "queue": {"type": "string", "description": "The task type's queue."},
        "concurrencyKey": {
            "description": (
                "The task's concurrency key, computed from its data at creation by its task "
                "type's concurrency_key (null: none). Running tasks of one type sharing a key "
                "are capped (docs/scheduling-limits.md)."
            ),
            "oneOf": [{"type": "string", "maxLength": 200}, {"type": "null"}],
        },
    },
}
_UNFINISHED = problem("The task has not finished yet (queued, active or cancelling).", 409, (1004,))
_READ_ERRORS = ("BadRequest", "Unauthorized", "NotFound", "NotAcceptable", "TooManyRequests")


def _with_links(schema: JsonObject) -> JsonObject:
    props = {**schema["properties"], "_links": _LINKS}
    return {**schema, "required": [*schema["required"], "_links"], "properties": props}


def _reply(description: str, schema: JsonObject) -> JsonObject:
    content = {
        "application/hal+json": {"schema": _with_links(schema)},
        "application/json": {"schema": schema},
        "application/xml": {"schema": TEXT_BODY},
        "text/xml": {"schema": TEXT_BODY},
    }
    return {"description": description, "content": content}


def _read(op: str, summary: str, description: str, reply: JsonObject) -> JsonObject:
    return {
        "operationId": op,
        "tags": ["Tasks"],
        "summary": summary,
        "description": description,
        "parameters": [ref("parameters", n) for n in ("TaskId", "TaskProjectId", "AcceptNoCsv")],
        "responses": {"200": reply, **replies(*_READ_ERRORS, "InternalError")},
    }


def result_paths() -> dict[str, dict[str, JsonObject]]:
    """The routes, relative to a prefix; operationIds get the prefix's suffix."""
    result = _read(
        "readTaskResult",
        "Get a finished task's result (ours)",
        "What the handler returned (stored as JSON, at most 1 MiB) for a done task; null "
        "when it returned nothing. An error task answers with its failReason, a cancelled "
        "one with result null. Served as JSON, HAL or XML (no CSV shape: 406).",
        _reply("The task's result.", _RESULT),
    )
    result["responses"]["409"] = _UNFINISHED
    details = _read(
        "readTaskDetails",
        "Get a task's details (ours)",
        "Facts beside the 13 task fields: attempts, the task it re-runs and its own re-runs "
        "(newest first, at most 100), whether a result is stored, its scheduling (runAt, "
        "priority and queue) and its concurrency key.",
        _reply("The task's details.", _DETAILS),
    )
    return {
        "/tasks/{taskId}/result": {"get": result},
        "/tasks/{taskId}/details": {"get": details},
        "/tasks/{taskId}/rerun": {"post": _rerun()},
    }


def _rerun() -> JsonObject:
    return {
        "operationId": "rerunTask",
        "tags": ["Tasks"],
        "summary": "Re-run a finished task (ours)",
        "description": (
            "Create a new task with the finished (done, error or cancelled) task's name, data "
            "and project, linked to it (see the details of both). The original is unchanged. "
            "The new task is validated as a create is: a task type no longer registered is a "
            "400. An unfinished task is a 409."
        ),
        "parameters": [ref("parameters", n) for n in ("TaskId", "TaskProjectId", "AcceptNoCsv")],
        "responses": {
            "201": ref("responses", "TaskCreated"),
            **replies(*_READ_ERRORS[:2], "Forbidden", *_READ_ERRORS[2:], "InternalError"),
            "409": problem(
                "The task has not finished; only a finished task can be re-run.", 409, (1004,)
            ),
        },
    }
