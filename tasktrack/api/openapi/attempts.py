"""The document's description of ``GET /tasks/{taskId}/attempts`` (issue 13), under both
prefixes. Its schemas are inline: the resource is one route's own."""

from __future__ import annotations

from tasktrack.api.openapi.common import PREFIXES, TEXT_BODY, JsonObject, ref
from tasktrack.api.openapi.responses import replies
from tasktrack.domain.history import Outcome

_TIME = {"type": ["string", "null"], "format": "date-time"}

ATTEMPT_SCHEMA: JsonObject = {
    "type": "object",
    "required": ["attempt", "workerId", "startedAt", "endedAt", "outcome", "reason", "durationMs"],
    "properties": {
        "attempt": {"type": "integer", "minimum": 1, "description": "1 for the first run."},
        "workerId": {"type": "string", "description": "The worker that ran it."},
        "startedAt": {"type": "string", "format": "date-time"},
        "endedAt": {**_TIME, "description": "null while it runs."},
        "outcome": {"type": "string", "enum": [o.value for o in Outcome]},
        "reason": {"type": "string", "description": "Why it failed or was lost; else empty."},
        "durationMs": {"type": ["integer", "null"], "minimum": 0},
    },
}

_LIST: JsonObject = {
    "type": "object",
    "required": ["items", "total"],
    "properties": {
        "items": {"type": "array", "items": ATTEMPT_SCHEMA},
        "total": {"type": "integer", "minimum": 0},
    },
}

_HAL_LIST: JsonObject = {
    **_LIST,
    "required": ["items", "total", "_links"],
    "properties": {**_LIST["properties"], "_links": {"type": "object"}},
}


def _operation(suffix: str) -> JsonObject:
    return {
        "operationId": "listTaskAttempts" + suffix,
        "tags": ["Tasks"],
        "summary": "List a task's attempts (ours)",
        "description": (
            "Every run of the task, oldest first: its number, worker, start, end, outcome "
            "(`running` for the one running now; `done`, `error`, `timeout`, `lost`, "
            "`cancelled`, or `released` when a worker gave it back at shutdown) and "
            "duration. CSV is not served (406)."
        ),
        "parameters": [ref("parameters", n) for n in ("TaskId", "TaskProjectId", "AcceptNoCsv")],
        "responses": {
            "200": {
                "description": "The task's attempts.",
                "content": {
                    "application/hal+json": {"schema": _HAL_LIST},
                    "application/json": {"schema": _LIST},
                    "application/xml": {"schema": TEXT_BODY},
                    "text/xml": {"schema": TEXT_BODY},
                },
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


def attempt_paths() -> dict[str, dict[str, JsonObject]]:
    """The attempts path under each prefix, operationIds suffixed as the task routes'."""
    return {
        f"{prefix}/tasks/{{taskId}}/attempts": {"get": _operation(suffix)}
        for prefix, suffix in PREFIXES.items()
    }
