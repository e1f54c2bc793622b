"""The document's component schemas: the task, its list page, the create body, problems."""

from __future__ import annotations

from typing import Any

from tasktrack.api.openapi.common import ID_PATTERN, MAX_UNIX_TIME, OAUTH2_ERRORS, JsonObject, ref
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.scheduling import MAX_DELAY, MAX_PRIORITY, MIN_PRIORITY
from tasktrack.domain.task import CONTRACT_FIELDS
from tasktrack.service.limits import MAX_DATA_BYTES, MAX_DATA_DEPTH
from tasktrack.service.registry import TaskRegistry


def _scheduling_properties() -> dict[str, JsonObject]:
    """The create's scheduling options (issue 14; docs/scheduling-claims.md)."""
    return {
        "runAt": {
            "oneOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number", "minimum": 0},
                {"type": "null"},
            ],
            "description": (
                "Run later: the task stays queued and is not claimed before this time (ISO 8601 "
                "with a UTC offset, or Unix seconds); at most 366 days ahead; a past time means "
                "now. Not with delaySeconds. Shown as runAt in the task's details."
            ),
        },
        "delaySeconds": {
            "type": ["number", "null"],
            "minimum": 0,
            "maximum": MAX_DELAY,
            "description": "Run later: this many seconds after the create. Not with runAt.",
        },
        "priority": {
            "type": ["integer", "null"],
            "minimum": MIN_PRIORITY,
            "maximum": MAX_PRIORITY,
            "description": (
                "Overrides the task type's priority: higher is claimed first among the "
                "organisation's queued tasks of its queue (organisations take turns whatever "
                "their priorities). Default: the task type's (usually 0)."
            ),
        },
    }


_BOTH_SET: JsonObject = {k: {"not": {"type": "null"}} for k in ("runAt", "delaySeconds")}


def _task_properties() -> dict[str, JsonObject]:
    """The 13 contract fields' schemas, in the contract's order."""
    unix_time: JsonObject = {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_UNIX_TIME,
        "examples": [1694518620],
    }
    moment: JsonObject = {"type": ["string", "null"], "format": "date-time"}
    step: JsonObject = {"type": "integer", "minimum": 0}
    by_field: dict[str, JsonObject] = {
        "name": {
            "type": "string",
            "description": "The name of the task: its registered task type.",
            "examples": ["exportPackage"],
        },
        "data": {"type": "object", "description": "The parameters of the task, as created."},
        "status": {
            "type": "string",
            "enum": [status.value for status in Status],
            "description": "The status of the task; done, cancelled and error are terminal.",
            "examples": ["queued"],
        },
        "currentStep": {**step, "description": "Steps finished so far; never above totalStep."},
        "totalStep": {**step, "description": "Steps the task will take (the handler may raise)."},
        "failReason": {
            "type": "string",
            "description": "Why the task failed; the empty string while it has not.",
        },
        "lastRunAt": {
            **moment,
            "description": "When the last attempt started (UTC, RFC 3339 with Z); null before.",
            "examples": ["2023-11-07T05:31:56Z"],
        },
        "lastFinishedAt": {
            **moment,
            "description": "When the task reached a terminal status (UTC, RFC 3339 with Z).",
            "examples": ["2023-11-07T05:31:56Z"],
        },
        "_id": {
            "type": "string",
            "pattern": ID_PATTERN,
            "minLength": 24,
            "maxLength": 24,
            "description": "The task's id: 24 lowercase hex characters, ObjectId layout.",
        },
        "createdAt": {**unix_time, "description": "Unix timestamp of creation."},
        "lastChanged": {**unix_time, "description": "Unix timestamp of the last change."},
        "createdBy": {
            "type": "string",
            "description": "Id of the user whose request created the task.",
        },
        "lastChangedBy": {
            "type": "string",
            "description": "Id of the user whose request last changed the task (create, cancel).",
        },
    }
    if set(by_field) != set(CONTRACT_FIELDS):
        raise RuntimeError("the Task schema and CONTRACT_FIELDS disagree")
    return {name: by_field[name] for name in CONTRACT_FIELDS}


def _object(properties: JsonObject, required: list[str], **extra: Any) -> JsonObject:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        **extra,
    }


def component_schemas(registry: TaskRegistry) -> JsonObject:
    task = _task_properties()
    fields = list(CONTRACT_FIELDS)
    nullable_cursor: JsonObject = {
        "type": ["string", "null"],
        "description": "Opaque cursor of the adjacent page, for `next`/`previous`; null if none.",
    }

    def page(item: str, links: bool) -> JsonObject:
        properties: JsonObject = {
            "items": {"type": "array", "items": ref("schemas", item)},
            "total": {"type": "integer", "minimum": 0, "description": "Every match, not the page."},
            "nextCursor": nullable_cursor,
            "previousCursor": nullable_cursor,
        }
        if links:
            properties["_links"] = ref("schemas", "ListLinks")
        return _object(properties, list(properties))

    names = registry.names()
    name: JsonObject = {
        "type": "string",
        "minLength": 1,
        "description": "A registered task name (400 for any other).",
    }
    if names:
        name["enum"] = names
    link = _object({"href": {"type": "string"}}, ["href"])
    return {
        "Task": _object(
            task,
            fields,
            description=(
                "A task: the seed's 13 fields, in this order in every representation. "
                "Timestamps are Unix seconds; lastRunAt/lastFinishedAt are RFC 3339 UTC times."
            ),
            examples=[_TASK_EXAMPLE],
        ),
        "HalTask": _object(
            {**task, "_links": ref("schemas", "TaskLinks")},
            [*fields, "_links"],
            description="A Task plus its HAL `_links` (application/hal+json).",
        ),
        "TaskList": page("Task", links=False),
        "HalTaskList": page("HalTask", links=True),
        "Link": link,
        "TaskLinks": _object({"self": ref("schemas", "Link")}, ["self"]),
        "ListLinks": _object(
            {
                "self": ref("schemas", "Link"),
                "next": ref("schemas", "Link"),
                "previous": ref("schemas", "Link"),
            },
            ["self"],
            description="`next`/`previous` only when there is such a page.",
        ),
        "CreateTask": _object(
            {
                "name": name,
                "data": {
                    "type": "object",
                    "default": {},
                    "description": (
                        f"The task's parameters: at most {MAX_DATA_BYTES} bytes of compact JSON "
                        f"and {MAX_DATA_DEPTH} levels deep; the task type may check it further "
                        "(400 with its message)."
                    ),
                },
                "projectId": {
                    "type": ["string", "null"],
                    "pattern": ID_PATTERN,
                    "description": (
                        "Optional project the task belongs to (24 hex characters); null is "
                        "the same as leaving it out."
                    ),
                },
                **_scheduling_properties(),
            },
            ["name"],
            description=(
                "Fields the server owns (status, _id, createdAt, ...) and unknown fields are a 400."
            ),
            # runAt and delaySeconds exclude each other (null is the same as leaving one out).
            **{"not": {"required": ["runAt", "delaySeconds"], "properties": _BOTH_SET}},
        ),
        "Problem": {
            "type": "object",
            "description": "RFC 7807 problem details with Cognigy's code, traceId and details.",
            "properties": {
                "type": {"type": "string", "examples": ["about:blank"]},
                "title": {"type": "string", "examples": ["Not Found"]},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "instance": {"type": "string", "description": "The request's path."},
                "code": {"type": "integer", "description": "Cognigy's error code."},
                "traceId": {"type": "string", "description": "Quote it when reporting errors."},
                "details": {"type": "object"},
            },
            "required": [
                "type",
                "title",
                "status",
                "detail",
                "instance",
                "code",
                "traceId",
                "details",
            ],
        },
        "TokenRequest": {
            "type": "object",
            "description": (
                "RFC 6749 token request. `password` takes username and password; "
                "`client_credentials` needs the client's credentials; `refresh_token` takes "
                "refresh_token. Client credentials go in client_id and client_secret or in "
                "HTTP Basic (optional for the password and refresh_token grants). Other fields "
                "are ignored."
            ),
            "properties": {
                "grant_type": {
                    "type": "string",
                    "enum": ["password", "client_credentials", "refresh_token"],
                },
                "username": {"type": "string"},
                "password": {"type": "string", "format": "password"},
                "client_id": {"type": "string"},
                "client_secret": {"type": "string", "format": "password"},
                "refresh_token": {"type": "string"},
                "scope": {"type": "string"},
            },
            "required": ["grant_type"],
        },
        "TokenResponse": {
            "type": "object",
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Seconds the access token stays valid.",
                },
                "refresh_token": {"type": "string"},
                "scope": {"type": "string"},
            },
            "required": ["access_token", "token_type", "expires_in", "refresh_token"],
        },
        "Event": {
            "type": "object",
            "description": (
                "One server-sent event: its name, its data (JSON text) and, on every event "
                "but `task`, its id (a resume point for `since`)."
            ),
            "properties": {
                "event": {"enum": ["ready", "task", "reset", "tick", "bye"]},
                "data": {"type": "string", "contentMediaType": "application/json"},
                "id": {"type": "string", "pattern": "^[0-9]+$"},
            },
            "required": ["event", "data"],
        },
        "RevokeRequest": {
            "type": "object",
            "properties": {
                "token": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A refresh or access token.",
                },
                "token_type_hint": {"type": "string"},
            },
            "required": ["token"],
        },
        "OAuth2Error": {
            "type": "object",
            "description": "RFC 6749 section 5.2 error response.",
            "properties": {
                "error": {"type": "string", "enum": list(OAUTH2_ERRORS)},
                "error_description": {"type": "string"},
                "error_uri": {"type": "string"},
            },
            "required": ["error"],
        },
        "Health": _object({"status": {"type": "string", "const": "ok"}}, ["status"]),
    }


_TASK_EXAMPLE: JsonObject = {
    "name": "exportPackage",
    "data": {},
    "status": "queued",
    "currentStep": 0,
    "totalStep": 10,
    "failReason": "",
    "lastRunAt": None,
    "lastFinishedAt": None,
    "_id": "6551f0c2a1b2c3d4e5000001",
    "createdAt": 1699868866,
    "lastChanged": 1699868866,
    "createdBy": "6551f0a0a1b2c3d4e5000000",
    "lastChangedBy": "6551f0a0a1b2c3d4e5000000",
}
