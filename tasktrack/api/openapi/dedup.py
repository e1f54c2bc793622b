"""The document's issue-14 parts: ``Idempotency-Key`` and ``uniqueKey`` on ``POST /tasks``
(merged into the create operation) and ``GET /schedules``. Kept in one module so the create
operation's base text in :mod:`.paths` stays as it was."""

from __future__ import annotations

from typing import Any

from tasktrack.api.dedup import HEADER, REPLAYED_HEADER, UNIQUE_KEY
from tasktrack.api.openapi.common import PREFIXES, JsonObject, ref
from tasktrack.api.openapi.responses import problem, replies
from tasktrack.domain.dedup import MAX_KEY_LENGTH

# Printable ASCII (domain.dedup.check_key; anything else is a 400).
_KEY: JsonObject = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_KEY_LENGTH,
    "pattern": "^[ -~]*$",
}
_TIME: JsonObject = {"type": ["string", "null"], "format": "date-time"}

IDEMPOTENCY_PARAMETER: JsonObject = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        'IETF httpapi draft Idempotency-Key: a Structured Field string (`"abc"`; an unquoted '
        "value is taken as it is), 1-255 printable ASCII characters, scoped to the caller's "
        "organisation. The same key with the same body within TASKTRACK_IDEMPOTENCY_TTL "
        f"(24 h) answers with the original task and `{REPLAYED_HEADER}: true`; with another "
        "body it is a 422."
    ),
    "schema": _KEY,
}

UNIQUE_KEY_PROPERTY: JsonObject = {
    **_KEY,
    "type": ["string", "null"],
    "description": (
        "Create option (ours); null is the same as leaving it out. While an unfinished "
        "(queued, active or cancelling) task of the caller's organisation holds this key, the "
        "create returns that task with 200 instead of creating one (201)."
    ),
}

_REPLAYED: JsonObject = {
    "description": "`true` on a reply that repeats an earlier request's (same Idempotency-Key).",
    "schema": {"type": "string", "const": "true"},
}

_SCHEDULE: JsonObject = {
    "type": "object",
    "required": ["key", "task", "cron", "timezone", "data", "nextRun", "lastRun", "lastTaskId"],
    "properties": {
        "key": {"type": "string"},
        "task": {"type": "string", "description": "The task type each slot creates."},
        "cron": {"type": "string", "description": "5 fields, or 6 with seconds first."},
        "timezone": {"type": "string"},
        "data": {"type": "object"},
        "nextRun": {"type": "string", "format": "date-time"},
        "lastRun": {**_TIME, "description": "The latest slot that got its task; null: never."},
        "lastTaskId": {"type": ["string", "null"]},
    },
}
_SCHEDULES: JsonObject = {
    "type": "object",
    "required": ["items", "total"],
    "properties": {
        "items": {"type": "array", "items": _SCHEDULE},
        "total": {"type": "integer", "minimum": 0},
        "_links": {"type": "object"},
    },
}


def extend_create(document: JsonObject) -> None:
    """Add the header, the body option and the 200/422 replies to every create operation."""
    schema = document["components"]["schemas"]["CreateTask"]
    schema["properties"][UNIQUE_KEY] = UNIQUE_KEY_PROPERTY
    for prefix in PREFIXES:
        create: dict[str, Any] = document["paths"][f"{prefix}/tasks"]["post"]
        create["parameters"] = [*create["parameters"], IDEMPOTENCY_PARAMETER]
        created = {**document["components"]["responses"]["TaskCreated"]}
        created["headers"] = {**created["headers"], REPLAYED_HEADER: _REPLAYED}
        create["responses"]["201"] = created
        create["responses"]["200"] = {
            **created,
            "description": "An unfinished task holds the uniqueKey: that task, unchanged.",
        }
        create["responses"]["422"] = problem(
            "The Idempotency-Key was used before with another request body.", 422, (422,)
        )


def schedule_paths() -> dict[str, dict[str, JsonObject]]:
    """``GET /schedules`` under each prefix."""
    return {
        f"{prefix}/schedules": {"get": _schedules_operation(suffix)}
        for prefix, suffix in PREFIXES.items()
    }


def _schedules_operation(suffix: str) -> JsonObject:
    return {
        "operationId": "listSchedules" + suffix,
        "tags": ["Tasks"],
        "summary": "List periodic schedules (ours)",
        "description": (
            "The periodic schedules declared in the server's task modules whose tasks the "
            "caller's organisation owns, by key, each with its next slot and its last run."
        ),
        "parameters": [ref("parameters", "AcceptJson")],
        "responses": {
            "200": {
                "description": "The schedules.",
                "content": {
                    "application/hal+json": {"schema": _SCHEDULES},
                    "application/json": {"schema": _SCHEDULES},
                },
            },
            **replies("Unauthorized", "NotAcceptable", "TooManyRequests", "InternalError"),
        },
    }
