"""The document's component headers and responses (task replies and problem+json errors)."""

from __future__ import annotations

from typing import Any

from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.openapi.common import TEXT_BODY, JsonObject, ref
from tasktrack.api.problems import PROBLEM_JSON
from tasktrack.config import Settings

COMPONENT_HEADERS: JsonObject = {
    "ETag": {
        "description": "Weak validator of this version of the task, for If-None-Match.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "URL of the created task.",
        "required": True,
        "schema": {"type": "string"},
    },
    "X-Tasktrack-Warning": {
        "description": (
            "Present when no live worker serves the new task's type: `no-live-worker: ...`. "
            "The task is stored and runs once such a worker starts (see GET /workers)."
        ),
        "schema": {"type": "string"},
    },
    "X-Total-Count": {
        "description": "Tasks matching the query (also in the body, except for CSV).",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Next-Cursor": {
        "description": "The nextCursor, when there is a next page.",
        "schema": {"type": "string"},
    },
    "X-Previous-Cursor": {
        "description": "The previousCursor, when there is a previous page.",
        "schema": {"type": "string"},
    },
    "X-Trace-Id": {
        "description": "The request's trace id (the body's traceId).",
        "required": True,
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "The authentication scheme to use.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string"},
    },
}


def _bodies(hal: str, plain: str) -> JsonObject:
    """Content of a success reply in every media type the server serves."""
    schemas = {
        "application/hal+json": ref("schemas", hal),
        "application/json": ref("schemas", plain),
    }
    return {media: {"schema": schemas.get(media, TEXT_BODY)} for media in SUPPORTED}


def problem(description: str, status: int, codes: tuple[int, ...], **headers: Any) -> JsonObject:
    code: JsonObject = {"const": codes[0]} if len(codes) == 1 else {"enum": list(codes)}
    return {
        "description": description,
        "headers": {"X-Trace-Id": ref("headers", "X-Trace-Id"), **headers},
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        ref("schemas", "Problem"),
                        {"properties": {"status": {"const": status}, "code": code}},
                    ]
                }
            }
        },
    }


def component_responses() -> JsonObject:
    max_body = Settings().max_body_bytes
    return {
        "Task": {
            "description": "Returns Task Object.",
            "headers": {"ETag": ref("headers", "ETag")},
            "content": _bodies("HalTask", "Task"),
        },
        "TaskCreated": {
            "description": "The task was created (status queued).",
            "headers": {
                "ETag": ref("headers", "ETag"),
                "Location": ref("headers", "Location"),
                "X-Tasktrack-Warning": ref("headers", "X-Tasktrack-Warning"),
            },
            "content": _bodies("HalTask", "Task"),
        },
        "TaskList": {
            "description": "One page of tasks. CSV bodies carry only the rows; see the headers.",
            "headers": {
                "X-Total-Count": ref("headers", "X-Total-Count"),
                "X-Next-Cursor": ref("headers", "X-Next-Cursor"),
                "X-Previous-Cursor": ref("headers", "X-Previous-Cursor"),
            },
            "content": _bodies("HalTaskList", "TaskList"),
        },
        "NotModified": {
            "description": "The task still has the ETag named by If-None-Match; no body.",
            "headers": {"ETag": ref("headers", "ETag")},
        },
        "BadRequest": problem(
            "Malformed id, parameter or body: code 1005 (invalid) or 1000 (missing). On a "
            "list also: a cursor this server did not issue, or `next` and `previous` together "
            "(which OpenAPI cannot express as a schema). On PostgreSQL, a NUL character in "
            "any text value (its text type cannot hold one).",
            400,
            (1000, 1005),
        ),
        "Unauthorized": problem(
            "No or bad credentials.",
            401,
            (401,),
            **{"WWW-Authenticate": ref("headers", "WWW-Authenticate")},
        ),
        "Forbidden": problem(
            "Authenticated, but not allowed (a read-only key or token).", 403, (403,)
        ),
        "NotFound": problem(
            "No such task for this caller (another organisation's task too).", 404, (1002,)
        ),
        "NotAcceptable": problem(
            "None of the media types the server serves is acceptable.", 406, (406,)
        ),
        "Conflict": problem(
            "The task already ended done or error; it cannot be cancelled.", 409, (1004,)
        ),
        "PayloadTooLarge": problem(
            f"The request body is larger than the server accepts ({max_body} bytes by default, "
            "TASKTRACK_MAX_BODY_BYTES).",
            413,
            (413,),
        ),
        "UnsupportedMediaType": problem(
            "The body is not JSON: its Content-Type must be application/json or "
            "application/*+json, in UTF-8 (no charset, or charset=utf-8).",
            415,
            (415,),
        ),
        "TooManyRequests": problem(
            "This client address failed authentication too often: every request from it "
            "that carries credentials (even correct ones) or goes to /auth/oauth2/ gets a "
            "429 until Retry-After seconds have passed.",
            429,
            (429,),
            **{"Retry-After": ref("headers", "Retry-After")},
        ),
        "InternalError": problem(
            "A bug; no stack trace is shown. Quote the traceId.", 500, (1008,)
        ),
        "ServiceUnavailable": problem(
            "Busy for a moment: too many credential checks are waiting, or (SQLite) another "
            "process held the database's write lock past the busy timeout. Nothing was "
            "changed; retry after Retry-After seconds.",
            503,
            (503,),
            **{"Retry-After": ref("headers", "Retry-After")},
        ),
    }


def replies(*names: str) -> JsonObject:
    statuses = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "NotAcceptable": "406",
        "Conflict": "409",
        "PayloadTooLarge": "413",
        "UnsupportedMediaType": "415",
        "TooManyRequests": "429",
        "InternalError": "500",
        "ServiceUnavailable": "503",
    }
    # Whatever can fail inside can also be briefly unavailable (a busy database, a full
    # credential-check queue): every operation listing the 500 lists the 503 too.
    if "InternalError" in names:
        names = (*names, "ServiceUnavailable")
    return {statuses[name]: ref("responses", name) for name in names}
