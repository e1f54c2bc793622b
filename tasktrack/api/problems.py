"""RFC 7807 problem+json errors with Cognigy's extra members (``code``, ``traceId``, ``details``).

The official client picks its error class from ``code``, so each error maps to the contract's.
"""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tasktrack.api.body import UnsupportedMediaType
from tasktrack.domain.dedup import IdempotencyMismatch
from tasktrack.errors import (
    BodyTooLarge,
    Conflict,
    DatabaseBusy,
    Forbidden,
    InvalidArgument,
    MissingArgument,
    NotFound,
    Overloaded,
    TooManyAttempts,
    Unauthenticated,
    UnknownTaskType,
)
from tasktrack.observability import context

log = logging.getLogger("tasktrack.api")

PROBLEM_JSON = "application/problem+json"

#: HTTP status -> contract code, where the code is not the status itself.
CODES = {400: 1005, 404: 1002, 409: 1004, 500: 1008}


def trace_id(request: Request) -> str:
    """The request's trace id: its request id (:mod:`tasktrack.api.request_id`), or outside
    that middleware the caller's ``X-Trace-Id`` if sane, else a new one."""
    bound = context.request_id.get()
    if bound is not None:
        return bound
    given = request.headers.get("x-trace-id", "")
    if 8 <= len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return secrets.token_hex(16)


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    code: int | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    tid = trace_id(request)
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code if code is not None else CODES.get(status, status),
        "traceId": tid,
        "details": details or {},
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers={"X-Trace-Id": tid, **(headers or {})},
    )


def from_exception(request: Request, exc: Exception) -> Response:
    """Map a domain error to its problem response; anything else is a logged 500."""
    if isinstance(exc, MissingArgument):
        return problem(request, 400, exc.message, code=1000)
    if isinstance(exc, UnknownTaskType | InvalidArgument):
        return problem(request, 400, exc.message)
    if isinstance(exc, Unauthenticated):
        return problem(request, 401, exc.message, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, Forbidden):
        return problem(request, 403, exc.message)
    if isinstance(exc, NotFound):
        return problem(request, 404, exc.message)
    if isinstance(exc, Conflict):
        return problem(request, 409, exc.message)
    if isinstance(exc, IdempotencyMismatch):
        return problem(request, 422, exc.message)
    if isinstance(exc, BodyTooLarge):
        return problem(request, 413, exc.message)
    if isinstance(exc, TooManyAttempts):
        return problem(request, 429, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, Overloaded | DatabaseBusy):
        return problem(request, 503, exc.message, headers={"Retry-After": "1"})
    if isinstance(exc, UnsupportedMediaType):
        return problem(request, 415, exc.message)
    response = problem(request, 500, "internal error; quote the traceId when reporting it")
    log.error(
        "unhandled error on %s %s (traceId %s)",
        request.method,
        request.url.path,
        response.headers["X-Trace-Id"],
        exc_info=exc,
    )
    return response
