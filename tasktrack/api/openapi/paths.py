"""The document's paths: the task routes (emitted under both prefixes) and the others."""

from __future__ import annotations

from typing import Any

from tasktrack.api.openapi.common import REVOKE_PATH, TEXT_BODY, TOKEN_PATH, JsonObject, ref
from tasktrack.api.openapi.responses import problem, replies
from tasktrack.domain.listing import FILTERABLE


def _params(*names: str) -> list[JsonObject]:
    return [ref("parameters", name) for name in names]


def task_paths() -> dict[str, dict[str, JsonObject]]:
    """The task routes, relative to a prefix; operationIds get the prefix's suffix."""
    tags = ["Tasks"]
    return {
        "/tasks": {
            "get": {
                "operationId": "indexTasks",
                "tags": tags,
                "summary": "List tasks",
                "description": (
                    "The caller's organisation's tasks, one page at a time (cursor or offset "
                    "pagination), filtered and sorted. Any query parameter that is neither "
                    "listed here nor a filterable field is a 400."
                ),
                "parameters": _params(
                    "Limit",
                    "Skip",
                    "Next",
                    "Previous",
                    "Sort",
                    "Filter",
                    "ProjectId",
                    *(f"field.{field}" for field in FILTERABLE),
                    "Accept",
                ),
                "responses": {
                    "200": ref("responses", "TaskList"),
                    **replies(
                        "BadRequest",
                        "Unauthorized",
                        "NotAcceptable",
                        "TooManyRequests",
                        "InternalError",
                    ),
                },
            },
            "post": {
                "operationId": "createTask",
                "tags": tags,
                "summary": "Create a task (ours)",
                "description": (
                    "Enqueue a task of a registered type. The reply is the stored task "
                    "(status queued), with its URL in Location."
                ),
                "parameters": _params("Accept"),
                "requestBody": ref("requestBodies", "CreateTask"),
                "responses": {
                    "201": ref("responses", "TaskCreated"),
                    **replies(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "NotAcceptable",
                        "PayloadTooLarge",
                        "UnsupportedMediaType",
                        "TooManyRequests",
                        "InternalError",
                    ),
                },
            },
        },
        "/tasks/{taskId}": {
            "get": {
                "operationId": "readTask",
                "tags": tags,
                "summary": "Get a Task",
                "description": (
                    "One task of the caller's organisation. With If-None-Match naming its "
                    "current ETag the reply is a 304; with `wait` the server holds the request "
                    "until the task changes or the time is up."
                ),
                "parameters": _params("TaskId", "TaskProjectId", "Wait", "Accept", "IfNoneMatch"),
                "responses": {
                    "200": ref("responses", "Task"),
                    "304": ref("responses", "NotModified"),
                    **replies(
                        "BadRequest",
                        "Unauthorized",
                        "NotFound",
                        "NotAcceptable",
                        "TooManyRequests",
                        "InternalError",
                    ),
                },
            },
        },
        "/events": {
            "get": {
                "operationId": "streamEvents",
                "tags": ["Events"],
                "summary": "Stream task changes (ours)",
                "description": (
                    "A server-sent-events stream of changes to the caller's tasks, for the "
                    "dashboard. Events: `ready` (data {resumed, interval}; once the baseline "
                    "is taken), `task` (data: the 13 Task fields; one per changed task), "
                    "`reset` (more changed than one poll reads: reload), `tick` (keep-alive) "
                    "and `bye` (stream over: reconnect). Every event but `task` has an `id:`, "
                    "a resume point for `since`. A stream lasts at most a minute, and ends "
                    "(with `bye`) within about a second of its credential being revoked or "
                    "its user disabled; no change read after that is sent."
                ),
                "parameters": _params("EventsProjectId", "Since"),
                "responses": {
                    "200": {
                        "description": "The event stream (`text/event-stream`).",
                        "headers": {
                            "Cache-Control": {"description": "no-store", "schema": TEXT_BODY}
                        },
                        # OpenAPI 3.1 has no itemSchema (3.2 does): the schema of an
                        # event-stream describes one event, as tools (schemathesis) read it.
                        "content": {"text/event-stream": {"schema": ref("schemas", "Event")}},
                    },
                    **replies("BadRequest", "Unauthorized", "TooManyRequests", "InternalError"),
                },
            },
        },
        "/tasks/{taskId}/cancel": {
            "post": {
                "operationId": "cancelTask",
                "tags": tags,
                "summary": "Cancel a Task",
                "description": (
                    "Ask for a task to stop: a queued task is cancelled at once, an active one "
                    "becomes cancelling until its worker stops. Cancelling a cancelling or "
                    "cancelled task changes nothing (200); a done or failed one is a 409."
                ),
                "parameters": _params("TaskId", "TaskProjectId", "Accept"),
                "responses": {
                    "200": ref("responses", "Task"),
                    **replies(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "NotFound",
                        "NotAcceptable",
                        "Conflict",
                        "TooManyRequests",
                        "InternalError",
                    ),
                },
            },
        },
    }


_NO_STORE_HEADERS: JsonObject = {
    "Cache-Control": {"description": "no-store", "schema": {"type": "string"}},
    "Pragma": {"description": "no-cache", "schema": {"type": "string"}},
}


_ASSET_ETAG: JsonObject = {
    "description": "Validator of this version of the file.",
    "required": True,
    "schema": {"type": "string"},
}


def _oauth_error(description: str, **headers: Any) -> JsonObject:
    return {
        "description": description,
        "headers": {**_NO_STORE_HEADERS, **headers},
        "content": {"application/json": {"schema": ref("schemas", "OAuth2Error")}},
    }


def _limited(*responses: tuple[str, JsonObject]) -> JsonObject:
    """Responses of an operation outside the task routes, plus the rate limiter's 429."""
    return {**dict(responses), "429": ref("responses", "TooManyRequests")}


def other_paths() -> dict[str, dict[str, JsonObject]]:
    ops = ["Operations"]
    auth = ["Authentication"]
    return {
        TOKEN_PATH: {
            "post": {
                "operationId": "issueToken",
                "tags": auth,
                "summary": "Get an OAuth 2.0 access token",
                "description": (
                    "RFC 6749 token endpoint (form-encoded): grants password, "
                    "client_credentials and refresh_token. A client authenticates with HTTP "
                    "Basic or with client_id and client_secret fields, never both. Blank fields "
                    "count as absent; a repeated field, a body that is not "
                    "application/x-www-form-urlencoded or one over 16 KiB is invalid_request. "
                    "Refresh tokens rotate: each is good once. Use the access token as "
                    "`Authorization: Bearer <token>`."
                ),
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": ref("schemas", "TokenRequest")
                        }
                    },
                },
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "An access token and its refresh token.",
                            "headers": _NO_STORE_HEADERS,
                            "content": {
                                "application/json": {"schema": ref("schemas", "TokenResponse")}
                            },
                        },
                    ),
                    (
                        "400",
                        _oauth_error(
                            "invalid_request, unsupported_grant_type, or invalid_grant (wrong "
                            "username or password, an expired, used or revoked refresh token)."
                        ),
                    ),
                    (
                        "401",
                        _oauth_error(
                            "Client authentication failed (invalid_client).",
                            **{"WWW-Authenticate": ref("headers", "WWW-Authenticate")},
                        ),
                    ),
                    ("500", ref("responses", "InternalError")),
                    ("503", ref("responses", "ServiceUnavailable")),
                ),
            }
        },
        REVOKE_PATH: {
            "post": {
                "operationId": "revokeToken",
                "tags": auth,
                "summary": "Revoke a token (RFC 7009)",
                "description": (
                    "Ends the grant of a refresh or access token: every token issued from the "
                    "same sign-in stops working. Form-encoded or JSON. The reply is a 200 "
                    "whether or not the token was known."
                ),
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": ref("schemas", "RevokeRequest")
                        },
                        "application/json": {"schema": ref("schemas", "RevokeRequest")},
                    },
                },
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "Revoked (or unknown); no body.",
                            "headers": _NO_STORE_HEADERS,
                        },
                    ),
                    ("400", _oauth_error("invalid_request: no token, or a malformed body.")),
                    ("500", ref("responses", "InternalError")),
                    ("503", ref("responses", "ServiceUnavailable")),
                ),
            }
        },
        "/": {
            "get": {
                "operationId": "dashboard",
                "tags": ["Dashboard"],
                "summary": "The dashboard page",
                "description": (
                    "The web dashboard (public: it holds no data; it signs in and calls this "
                    "API from the browser)."
                ),
                "security": [],
                "responses": _limited(
                    (
                        "200",
                        {"description": "HTML.", "content": {"text/html": {"schema": TEXT_BODY}}},
                    )
                ),
            }
        },
        "/static/{path}": {
            "get": {
                "operationId": "dashboardAsset",
                "tags": ["Dashboard"],
                "summary": "A dashboard asset",
                "description": "A file the dashboard page loads; revalidated by ETag.",
                "security": [],
                "parameters": [
                    {
                        "name": "path",
                        "in": "path",
                        "required": True,
                        "description": "The file's name under the assets directory.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "The ETag of an earlier copy: 304 while it is current.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "The file, typed by its extension.",
                            "headers": {"ETag": _ASSET_ETAG},
                            "content": {"*/*": {"schema": TEXT_BODY}},
                        },
                    ),
                    (
                        "304",
                        {
                            "description": "The copy named by If-None-Match is current.",
                            "headers": {"ETag": _ASSET_ETAG},
                        },
                    ),
                    ("404", problem("No such asset.", 404, (1002,))),
                ),
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "tags": ops,
                "summary": "Liveness",
                "security": [],
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "The server is up.",
                            "content": {"application/json": {"schema": ref("schemas", "Health")}},
                        },
                    )
                ),
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ops,
                "summary": "Prometheus metrics",
                "description": (
                    "Metrics in the Prometheus text exposition format, for a scraper. Open "
                    "unless the server sets TASKTRACK_METRICS_TOKEN; then it needs "
                    "`Authorization: Bearer <that token>` (API keys and access tokens do not "
                    "open it)."
                ),
                "security": [],
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "Prometheus text format (version 0.0.4).",
                            "content": {"text/plain": {"schema": TEXT_BODY}},
                        },
                    ),
                    ("401", ref("responses", "Unauthorized")),
                ),
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ops,
                "summary": "This document",
                "security": [],
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "The OpenAPI 3.1 document of this API.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    )
                ),
            }
        },
    }
