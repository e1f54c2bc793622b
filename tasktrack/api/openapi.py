"""The OpenAPI 3.1 document of the HTTP API, written out as Python data.

The routes are plain Starlette handlers (see :mod:`tasktrack.api.app`), so nothing derives this
document from them: it is written here, from the same constants the server enforces (the
contract's field order, the sortable and filterable fields, the media types, the limits), so a
change to one of those changes the document too. ``tests/unit/api/test_openapi.py`` checks that
every route the app registers is described here with the same methods, and the other way round.

Each task route is described once and emitted under both prefixes (``/new/v2.0`` and ``/v2.0``);
the operations under ``/v2.0`` keep the official client's names (``readTask``, ``indexTasks``,
``cancelTask``, and our ``createTask``), those under ``/new/v2.0`` add the suffix ``New``.
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

import orjson

import tasktrack
from tasktrack.api.negotiation import SUPPORTED
from tasktrack.api.problems import PROBLEM_JSON
from tasktrack.config import Settings
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import DEFAULT_LIMIT, FILTERABLE, MAX_LIMIT, SORTABLE
from tasktrack.domain.task import CONTRACT_FIELDS
from tasktrack.service.limits import MAX_DATA_BYTES, MAX_DATA_DEPTH
from tasktrack.service.registry import TaskRegistry

JsonObject = dict[str, Any]

#: URL prefix of the task routes -> the suffix of their operationIds.
PREFIXES: dict[str, str] = {"/new/v2.0": "New", "/v2.0": ""}
TOKEN_PATH = "/auth/oauth2/token"
REVOKE_PATH = "/auth/oauth2/revoke"
ID_PATTERN = "^[0-9a-f]{24}$"
#: Largest Unix time the contract's integer timestamps take (2**31 - 1).
MAX_UNIX_TIME = 2_147_483_647
#: Longest ``filter`` text and largest ``skip`` (:mod:`tasktrack.api.query`).
MAX_FILTER_LENGTH = 200
MAX_SKIP = 10_000_000
#: Longest cursor :meth:`tasktrack.domain.listing.Cursor.decode` reads.
MAX_CURSOR_LENGTH = 2048
MAX_WAIT_SECONDS = 60
#: RFC 6749 section 5.2 error codes.
OAUTH2_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
)
#: Media types whose body is a document, not JSON: described as ``type: string``.
_TEXT_BODY: JsonObject = {"type": "string"}


def openapi_document(registry: TaskRegistry) -> bytes:
    """The OpenAPI 3.1 document of the API, as JSON bytes.

    Args:
        registry: the task types the server accepts; their names are the ``name`` enum of the
            create request body.
    """
    return orjson.dumps(build_document(registry))


def build_document(registry: TaskRegistry) -> JsonObject:
    """The OpenAPI 3.1 document as a JSON-ready dict (see :func:`openapi_document`)."""
    paths: JsonObject = {}
    for prefix, suffix in PREFIXES.items():
        for path, item in _task_paths().items():
            paths[prefix + path] = {
                method: {**operation, "operationId": operation["operationId"] + suffix}
                for method, operation in item.items()
            }
    paths.update(_other_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tasktrack Tasks API",
            "version": _version(),
            "summary": "Cognigy.AI v2.0 compatible Tasks API",
            "description": _DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "Tasks", "description": "Create, read, list and cancel tasks."},
            {"name": "Authentication", "description": "OAuth 2.0 tokens: issue and revoke."},
            {"name": "Events", "description": "A live stream of task changes (ours)."},
            {"name": "Operations", "description": "Health, metrics and this document."},
            {"name": "Dashboard", "description": "The web dashboard's page and assets."},
        ],
        "security": [{name: []} for name in _SECURITY_SCHEMES],
        "paths": paths,
        "components": {
            "schemas": _schemas(registry),
            "parameters": _parameters(),
            "headers": _HEADERS,
            "responses": _responses(),
            "requestBodies": {
                "CreateTask": {
                    "required": True,
                    "description": "The task to create: a registered task name and its data.",
                    "content": {
                        "application/json": {
                            "schema": _ref("schemas", "CreateTask"),
                            **(
                                {"example": {"name": registry.names()[0], "data": {}}}
                                if len(registry)
                                else {}
                            ),
                        }
                    },
                },
            },
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


_DESCRIPTION = """\
Wire-compatible with the Tasks resource of Cognigy.AI's REST API v2.0; every task route is \
served under both `/new/v2.0` and `/v2.0`. Creating tasks (`POST /tasks`), the `wait` long-poll, \
ETags, the event stream, the dashboard and the OAuth 2.0 endpoints are extensions of ours.

**Authentication.** Any one of: the `X-API-Key` header, the `api_key` query parameter, or \
`Authorization: Bearer <access token>` from `POST /auth/oauth2/token`. Read-only credentials \
(read-only API keys, tokens of read-only OAuth clients) may read and list but get a 403 on \
create and cancel. Repeated failed authentication from one address is rate limited (429 with \
`Retry-After`).

**Media types.** Task replies come as `application/hal+json` (the default: the JSON body plus \
`_links`), `application/json`, `application/xml`, `text/xml` or `text/csv`, chosen by `Accept` \
(q-values and wildcards honoured; nothing acceptable is a 406). Every GET also answers HEAD.

**Errors** are `application/problem+json` (RFC 7807) with Cognigy's members `code`, `traceId` \
and `details`: 400 → code 1005 (invalid argument) or 1000 (missing argument), 404 → 1002, \
409 → 1004, 500 → 1008, any other status → the status itself. The OAuth 2.0 endpoints \
answer their 400 and 401 as RFC 6749 errors (`{"error", "error_description"}`) instead.
"""


def _version() -> str:
    version = getattr(tasktrack, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version("tasktrack")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _ref(kind: str, name: str) -> JsonObject:
    return {"$ref": f"#/components/{kind}/{name}"}


# --- schemas -------------------------------------------------------------------------------


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


def _schemas(registry: TaskRegistry) -> JsonObject:
    task = _task_properties()
    fields = list(CONTRACT_FIELDS)
    nullable_cursor: JsonObject = {
        "type": ["string", "null"],
        "description": "Opaque cursor of the adjacent page, for `next`/`previous`; null if none.",
    }

    def page(item: str, links: bool) -> JsonObject:
        properties: JsonObject = {
            "items": {"type": "array", "items": _ref("schemas", item)},
            "total": {"type": "integer", "minimum": 0, "description": "Every match, not the page."},
            "nextCursor": nullable_cursor,
            "previousCursor": nullable_cursor,
        }
        if links:
            properties["_links"] = _ref("schemas", "ListLinks")
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
            {**task, "_links": _ref("schemas", "TaskLinks")},
            [*fields, "_links"],
            description="A Task plus its HAL `_links` (application/hal+json).",
        ),
        "TaskList": page("Task", links=False),
        "HalTaskList": page("HalTask", links=True),
        "Link": link,
        "TaskLinks": _object({"self": _ref("schemas", "Link")}, ["self"]),
        "ListLinks": _object(
            {
                "self": _ref("schemas", "Link"),
                "next": _ref("schemas", "Link"),
                "previous": _ref("schemas", "Link"),
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
                    "type": "string",
                    "pattern": ID_PATTERN,
                    "description": "Optional project the task belongs to (24 hex characters).",
                },
            },
            ["name"],
            description=(
                "Fields the server owns (status, _id, createdAt, ...) and unknown fields are a 400."
            ),
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
        "RevokeRequest": {
            "type": "object",
            "properties": {
                "token": {"type": "string", "description": "A refresh or access token."},
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


# --- parameters ----------------------------------------------------------------------------


def _alternatives(pattern: str) -> str:
    """A pattern for one value of ``pattern`` or several separated by commas."""
    return f"^{pattern}(,{pattern})*$"


def _sort_pattern() -> str:
    key = "({})(:(asc|desc))?".format("|".join(re.escape(name) for name in SORTABLE))
    return _alternatives(key)


def _filter_parameter(field: str, kind: str) -> JsonObject:
    schema: JsonObject = {"type": "string", "minLength": 1}
    if kind == "int":
        number = "-?[0-9]{1,18}"
        schema["pattern"] = rf"^({number}(,{number})*|\[{number},{number}\])$"
        how = (
            "Equality filter on this integer field: one value, alternatives separated by commas "
            "(`1,2`), or a closed range `[a,b]` (`[1700000000,1700009999]`)."
        )
    elif kind == "status":
        schema["pattern"] = _alternatives("({})".format("|".join(s.value for s in Status)))
        how = "Equality filter on the status: one status or alternatives (`queued,active`)."
    else:
        how = "Equality filter on this field: one value or alternatives separated by commas."
    return {
        "name": field,
        "in": "query",
        "required": False,
        "description": how + " Repeating the parameter adds alternatives.",
        "schema": schema,
    }


def _parameters() -> JsonObject:
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
            "schema": {"type": "string", "enum": list(SUPPORTED)},
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
            "description": "Cursor: the nextCursor of an earlier page. Not with `previous`.",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
        },
        "Previous": {
            "name": "previous",
            "in": "query",
            "required": False,
            "description": "Cursor: the previousCursor of an earlier page. Not with `next`.",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
        },
        "Sort": {
            "name": "sort",
            "in": "query",
            "required": False,
            "description": (
                "Comma-separated `field:asc` or `field:desc` (direction defaults to asc), "
                "e.g. `createdAt:desc,name:asc`; each field once; `_id` only last (it is the "
                "implicit tiebreaker). Default: newest first. With a cursor it must be the "
                "cursor's sort. Sortable: " + ", ".join(SORTABLE) + "."
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


# --- responses -----------------------------------------------------------------------------

_HEADERS: JsonObject = {
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
        "application/hal+json": _ref("schemas", hal),
        "application/json": _ref("schemas", plain),
    }
    return {media: {"schema": schemas.get(media, _TEXT_BODY)} for media in SUPPORTED}


def _problem(description: str, status: int, codes: tuple[int, ...], **headers: Any) -> JsonObject:
    code: JsonObject = {"const": codes[0]} if len(codes) == 1 else {"enum": list(codes)}
    return {
        "description": description,
        "headers": {"X-Trace-Id": _ref("headers", "X-Trace-Id"), **headers},
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        _ref("schemas", "Problem"),
                        {"properties": {"status": {"const": status}, "code": code}},
                    ]
                }
            }
        },
    }


def _responses() -> JsonObject:
    max_body = Settings().max_body_bytes
    return {
        "Task": {
            "description": "Returns Task Object.",
            "headers": {"ETag": _ref("headers", "ETag")},
            "content": _bodies("HalTask", "Task"),
        },
        "TaskCreated": {
            "description": "The task was created (status queued).",
            "headers": {"ETag": _ref("headers", "ETag"), "Location": _ref("headers", "Location")},
            "content": _bodies("HalTask", "Task"),
        },
        "TaskList": {
            "description": "One page of tasks. CSV bodies carry only the rows; see the headers.",
            "headers": {
                "X-Total-Count": _ref("headers", "X-Total-Count"),
                "X-Next-Cursor": _ref("headers", "X-Next-Cursor"),
                "X-Previous-Cursor": _ref("headers", "X-Previous-Cursor"),
            },
            "content": _bodies("HalTaskList", "TaskList"),
        },
        "NotModified": {
            "description": "The task still has the ETag named by If-None-Match; no body.",
            "headers": {"ETag": _ref("headers", "ETag")},
        },
        "BadRequest": _problem(
            "Malformed id, parameter or body: code 1005 (invalid) or 1000 (missing).",
            400,
            (1000, 1005),
        ),
        "Unauthorized": _problem(
            "No or bad credentials.",
            401,
            (401,),
            **{"WWW-Authenticate": _ref("headers", "WWW-Authenticate")},
        ),
        "Forbidden": _problem("Authenticated, but not allowed (a read-only key).", 403, (403,)),
        "NotFound": _problem(
            "No such task for this caller (another organisation's task too).", 404, (1002,)
        ),
        "NotAcceptable": _problem(
            "None of the media types the server serves is acceptable.", 406, (406,)
        ),
        "Conflict": _problem(
            "The task already ended done or error; it cannot be cancelled.", 409, (1004,)
        ),
        "PayloadTooLarge": _problem(
            f"The request body is larger than the server accepts ({max_body} bytes by default, "
            "TASKTRACK_MAX_BODY_BYTES).",
            413,
            (413,),
        ),
        "TooManyRequests": _problem(
            "This client address failed authentication too often: every request from it "
            "that carries credentials (even correct ones) or goes to /auth/oauth2/ gets a "
            "429 until Retry-After seconds have passed.",
            429,
            (429,),
            **{"Retry-After": _ref("headers", "Retry-After")},
        ),
        "InternalError": _problem(
            "A bug; no stack trace is shown. Quote the traceId.", 500, (1008,)
        ),
    }


def _replies(*names: str) -> JsonObject:
    statuses = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "NotAcceptable": "406",
        "Conflict": "409",
        "PayloadTooLarge": "413",
        "TooManyRequests": "429",
        "InternalError": "500",
    }
    return {statuses[name]: _ref("responses", name) for name in names}


# --- paths ---------------------------------------------------------------------------------


def _params(*names: str) -> list[JsonObject]:
    return [_ref("parameters", name) for name in names]


def _task_paths() -> dict[str, dict[str, JsonObject]]:
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
                    "200": _ref("responses", "TaskList"),
                    **_replies(
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
                "requestBody": _ref("requestBodies", "CreateTask"),
                "responses": {
                    "201": _ref("responses", "TaskCreated"),
                    **_replies(
                        "BadRequest",
                        "Unauthorized",
                        "Forbidden",
                        "NotAcceptable",
                        "PayloadTooLarge",
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
                    "200": _ref("responses", "Task"),
                    "304": _ref("responses", "NotModified"),
                    **_replies(
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
                    "a resume point for `since`. A stream lasts at most a minute."
                ),
                "parameters": _params("EventsProjectId", "Since"),
                "responses": {
                    "200": {
                        "description": "The event stream (`text/event-stream`).",
                        "headers": {
                            "Cache-Control": {"description": "no-store", "schema": _TEXT_BODY}
                        },
                        "content": {"text/event-stream": {"schema": _TEXT_BODY}},
                    },
                    **_replies("BadRequest", "Unauthorized", "TooManyRequests", "InternalError"),
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
                    "200": _ref("responses", "Task"),
                    **_replies(
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
        "content": {"application/json": {"schema": _ref("schemas", "OAuth2Error")}},
    }


def _limited(*responses: tuple[str, JsonObject]) -> JsonObject:
    """Responses of an operation outside the task routes, plus the rate limiter's 429."""
    return {**dict(responses), "429": _ref("responses", "TooManyRequests")}


def _other_paths() -> dict[str, dict[str, JsonObject]]:
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
                            "schema": _ref("schemas", "TokenRequest")
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
                                "application/json": {"schema": _ref("schemas", "TokenResponse")}
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
                            **{"WWW-Authenticate": _ref("headers", "WWW-Authenticate")},
                        ),
                    ),
                    ("500", _ref("responses", "InternalError")),
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
                            "schema": _ref("schemas", "RevokeRequest")
                        },
                        "application/json": {"schema": _ref("schemas", "RevokeRequest")},
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
                    ("500", _ref("responses", "InternalError")),
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
                        {"description": "HTML.", "content": {"text/html": {"schema": _TEXT_BODY}}},
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
                            "content": {"*/*": {"schema": _TEXT_BODY}},
                        },
                    ),
                    (
                        "304",
                        {
                            "description": "The copy named by If-None-Match is current.",
                            "headers": {"ETag": _ASSET_ETAG},
                        },
                    ),
                    ("404", _problem("No such asset.", 404, (1002,))),
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
                            "content": {"application/json": {"schema": _ref("schemas", "Health")}},
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
                "description": "Metrics in the Prometheus text exposition format, for a scraper.",
                "security": [],
                "responses": _limited(
                    (
                        "200",
                        {
                            "description": "Prometheus text format (version 0.0.4).",
                            "content": {"text/plain": {"schema": _TEXT_BODY}},
                        },
                    )
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


# --- security ------------------------------------------------------------------------------

_SECURITY_SCHEMES: JsonObject = {
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Supply the API Key in the HTTP-Header.",
    },
    "ApiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "Supply the API Key in the Url-Query (never written to logs).",
    },
    "OAuth2": {
        "type": "oauth2",
        "description": "The access token received from the authorization server (RFC 6749).",
        "flows": {
            "password": {"tokenUrl": TOKEN_PATH, "refreshUrl": TOKEN_PATH, "scopes": {}},
            "clientCredentials": {"tokenUrl": TOKEN_PATH, "refreshUrl": TOKEN_PATH, "scopes": {}},
        },
    },
    "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from the token endpoint, as Authorization: Bearer.",
    },
}
