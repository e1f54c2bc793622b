"""The hot read, ``GET /v2.0/tasks/{taskId}``, answered before the router for every credential.

Why it exists: reading one task is what every polling client does all day, and the GET-one
benchmark (bench/README.md) found Starlette's exception layer, router, ``Request`` and handler
wrapper costing about as much as the read itself. This layer sits inside the edge middleware
(:mod:`tasktrack.api.edge`: request id, failed-authentication limit and metrics, so those still
see every request) and in front of the router. It takes the plain cases: a GET of one
well-formed task id with exactly one credential, be it an ``X-API-Key`` header, a query string
that is nothing but ``api_key=<key>``, or an ``Authorization: Bearer`` token, with or without
``If-None-Match``. It answers only a success (200, or 304 when ``If-None-Match`` names the
current version), through the same services and response builders as the routed handler
(byte-identical; a test compares the two). Everything else goes on to the routed app, which
answers as it always has: two credentials at once (whatever the rules for that combination are,
they live in :mod:`tasktrack.api.security`), any other query parameter, and every failure (an
unknown key, a missing task, an unacceptable ``Accept``), so the problem+json bodies, trace ids
and the failed-authentication limiter stay in one place. A failed fast read is therefore redone
once by the app; failures are the rare case.

Credentials are verified by the services, which remember verified ones until the identity
data changes (:mod:`tasktrack.service.verified`, docs/fast-reads.md): the fast path holds no
cache of its own, so it cannot serve a revoked credential the routed app would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tasktrack.api.context import ApiContext
from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.renderers import RENDERERS
from tasktrack.api.routes.common import not_modified, prefix_of, seen_version, task_response
from tasktrack.domain.identity import Principal

_TASK_PATH = re.compile(r"/(?:new/)?v2\.0/tasks/([0-9a-f]{24})\Z")
#: The only query string taken: one ``api_key`` whose value needs no percent-decoding.
_KEY_QUERY = re.compile(rb"api_key=([A-Za-z0-9_-]+)\Z")


class TaskReadFastPath:
    """ASGI middleware: serves the plain successful GET-one, passes everything else on."""

    def __init__(self, app: ASGIApp, context: Callable[[], ApiContext | None]) -> None:
        self.app = app
        self.context = context  # None until the app's lifespan has opened the stores

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _TASK_PATH.match(scope["path"])
            ctx = self.context() if match else None
            if match and ctx is not None:
                response = await _read(ctx, scope, match.group(1))
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class _Plain:
    """What a plain GET-one carries: one credential and the headers the reply depends on."""

    key: str | None
    bearer: str | None
    accept: str | None
    if_none_match: str | None


def _plain(scope: Scope) -> _Plain | None:
    """The request's credential and headers, or None when it is not a plain read."""
    query = _KEY_QUERY.match(scope["query_string"]) if scope["query_string"] else None
    if scope["query_string"] and query is None:
        return None  # ?projectId=, ?wait=, ... : the routed handler's
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in (b"x-api-key", b"authorization") and name in found:
            return None  # a credential sent twice: the routed app refuses it (401)
        if name in (b"x-api-key", b"authorization", b"accept", b"if-none-match"):
            found.setdefault(name, value)  # the first wins, as in Starlette's Headers.get
    key, auth = found.get(b"x-api-key"), found.get(b"authorization")
    if (key is not None) + (auth is not None) + (query is not None) != 1:
        return None  # none, or two credentials at once: api/security.py decides those
    bearer = _bearer(auth) if auth is not None else None
    if auth is not None and bearer is None:
        return None
    raw_key = key if key is not None else query.group(1) if query is not None else None
    return _Plain(
        raw_key.decode("latin-1") if raw_key else None,
        bearer,
        _text(found.get(b"accept")),
        _text(found.get(b"if-none-match")),
    )


def _bearer(authorization: bytes) -> str | None:
    # The same reading as Authenticator._bearer; anything it would refuse is not taken here.
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _principal(ctx: ApiContext, request: _Plain) -> Principal | None:
    if request.key:
        return await ctx.identity.authenticate_api_key(request.key)
    verify = ctx.authenticator.bearer
    if request.bearer and verify is not None:
        return await verify(request.bearer)
    return None


async def _read(ctx: ApiContext, scope: Scope, task_id: str) -> Response | None:
    request = _plain(scope)
    if request is None:
        return None
    media = choose_media_type(request.accept)
    if media is None:
        return None
    try:
        principal = await _principal(ctx, request)
        if principal is None:
            return None
        task = await ctx.tasks.get(principal, task_id)
    except Exception:
        # Not ours to answer: the routed app redoes the read and reports whatever went wrong
        # (401, 404, or a logged 500) the one way it always does.
        return None
    if seen_version(request.if_none_match, task_id) == task.version:
        return not_modified(task)
    return task_response(prefix_of(scope["path"]), RENDERERS[media], task)
