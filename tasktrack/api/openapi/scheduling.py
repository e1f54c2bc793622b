"""The document's description of ``GET /scheduled-tasks`` (issue 14), under both prefixes.
The create options (runAt, delaySeconds, priority) are in the CreateTask schema, the details'
runAt/priority/queue in the details schema, the queue and priority list filters with the
other filters."""

from __future__ import annotations

from tasktrack.api.openapi.common import ID_PATTERN, PREFIXES, JsonObject, ref
from tasktrack.api.openapi.responses import replies
from tasktrack.domain.scheduling import MAX_PRIORITY, MIN_PRIORITY
from tasktrack.service.tasks import MAX_SCHEDULED_PAGE

_ITEM: JsonObject = {
    "type": "object",
    "required": ["_id", "name", "runAt", "priority", "queue", "createdAt", "attempts"],
    "properties": {
        "_id": {"type": "string", "pattern": ID_PATTERN},
        "name": {"type": "string"},
        "runAt": {"type": "string", "format": "date-time", "description": "When it falls due."},
        "priority": {"type": "integer", "minimum": MIN_PRIORITY, "maximum": MAX_PRIORITY},
        "queue": {"type": "string"},
        "createdAt": {"type": "integer", "minimum": 0},
        "attempts": {"type": "integer", "minimum": 0, "description": "> 0: a retry waiting."},
    },
}
_PAGE: JsonObject = {
    "type": "object",
    "required": ["items", "next"],
    "properties": {
        "items": {"type": "array", "items": _ITEM, "maxItems": MAX_SCHEDULED_PAGE},
        "next": {
            "type": ["string", "null"],
            "description": "Pass as `next` for the following page; null on the last page.",
        },
    },
}
_PARAMETERS: list[JsonObject] = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SCHEDULED_PAGE, "default": 25},
    },
    {
        "name": "next",
        "in": "query",
        "required": False,
        "description": "The `next` of the previous page (opaque).",
        "schema": {"type": "string", "maxLength": 200},
    },
    ref("parameters", "ProjectId"),
]


def _operation(suffix: str) -> JsonObject:
    return {
        "operationId": "listScheduledTasks" + suffix,
        "tags": ["Tasks"],
        "summary": "List tasks waiting for their time (ours)",
        "description": (
            "The caller's queued tasks that are not due yet (a create's runAt or "
            "delaySeconds, or a retry's back-off), soonest first. JSON only."
        ),
        "parameters": _PARAMETERS,
        "responses": {
            "200": {
                "description": "One page of waiting tasks.",
                "content": {"application/json": {"schema": _PAGE}},
            },
            **replies("BadRequest", "Unauthorized", "TooManyRequests", "InternalError"),
        },
    }


def scheduling_paths() -> dict[str, dict[str, JsonObject]]:
    """The scheduled-tasks path under each prefix, operationIds suffixed as the task routes'."""
    return {
        f"{prefix}/scheduled-tasks": {"get": _operation(suffix)}
        for prefix, suffix in PREFIXES.items()
    }
