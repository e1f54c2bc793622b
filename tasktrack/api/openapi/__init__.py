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

import orjson

import tasktrack
from tasktrack.api.openapi.attempts import attempt_paths
from tasktrack.api.openapi.common import (
    PREFIXES,
    REVOKE_PATH,
    SECURITY_SCHEMES,
    TOKEN_PATH,
    JsonObject,
    ref,
)
from tasktrack.api.openapi.dedup import extend_create, schedule_paths
from tasktrack.api.openapi.logs import log_paths
from tasktrack.api.openapi.operations import operation_paths
from tasktrack.api.openapi.parameters import component_parameters
from tasktrack.api.openapi.paths import other_paths, task_paths
from tasktrack.api.openapi.responses import COMPONENT_HEADERS, component_responses
from tasktrack.api.openapi.results import result_paths
from tasktrack.api.openapi.retention import retention_paths
from tasktrack.api.openapi.scheduling import scheduling_paths
from tasktrack.api.openapi.schemas import component_schemas
from tasktrack.api.openapi.webhooks import outgoing_webhooks, webhook_paths
from tasktrack.api.openapi.workers import worker_paths
from tasktrack.service.registry import TaskRegistry

__all__ = ["REVOKE_PATH", "TOKEN_PATH", "build_document", "openapi_document"]


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
        for path, item in {**task_paths(), **result_paths()}.items():
            paths[prefix + path] = {
                method: {**operation, "operationId": operation["operationId"] + suffix}
                for method, operation in item.items()
            }
    for prefix, suffix in PREFIXES.items():  # more operations on the task paths (issue 13)
        for path, item in retention_paths().items():
            paths.setdefault(prefix + path, {}).update(
                {m: {**op, "operationId": op["operationId"] + suffix} for m, op in item.items()}
            )
    paths.update(other_paths())
    paths.update(attempt_paths())  # issue 13
    paths.update(log_paths())  # issue 13
    paths.update(schedule_paths())  # issue 14
    paths.update(scheduling_paths())  # issue 14
    paths.update(webhook_paths())  # issue 16
    paths.update(operation_paths())  # issue 16: health probes, the API page
    paths.update(worker_paths())  # issue 16
    document: JsonObject = {
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
            {"name": "Webhooks", "description": "Signed notifications of task events (ours)."},
        ],
        "security": [{name: []} for name in SECURITY_SCHEMES],
        "paths": paths,
        "webhooks": outgoing_webhooks(),
        "components": {
            "schemas": component_schemas(registry),
            "parameters": component_parameters(),
            "headers": COMPONENT_HEADERS,
            "responses": component_responses(),
            "requestBodies": {
                "CreateTask": {
                    "required": True,
                    "description": "The task to create: a registered task name and its data.",
                    "content": {
                        "application/json": {
                            "schema": ref("schemas", "CreateTask"),
                            **(
                                {"example": {"name": registry.names()[0], "data": {}}}
                                if len(registry)
                                else {}
                            ),
                        }
                    },
                },
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
    extend_create(document)  # issue 14
    return document


_DESCRIPTION = """\
Wire-compatible with the Tasks resource of Cognigy.AI's REST API v2.0; every task route is \
served under both `/new/v2.0` and `/v2.0`. Creating tasks (`POST /tasks`), the `wait` long-poll, \
ETags, the event stream, the dashboard and the OAuth 2.0 endpoints are extensions of ours.

**Authentication.** Exactly one of: the `X-API-Key` header, the `api_key` query parameter, \
or `Authorization: Bearer <access token>` from `POST /auth/oauth2/token`; a request with two \
(or one twice) is a 401. Read-only credentials \
(read-only API keys, tokens of read-only OAuth clients) may read and list but get a 403 on \
create, cancel and delete. Repeated failed authentication from one address is rate limited \
(429 with `Retry-After`).

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
