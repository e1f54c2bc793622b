"""``GET /v2.0/events``: a server-sent-events stream of the caller's task changes (ours).

The dashboard reads it with ``fetch()`` (not ``EventSource``, which cannot send the
``X-API-Key`` / ``Authorization`` header), so the credential never goes into a URL. It is an
API route like the others (same credentials, same problem+json errors); how changes are found
is :class:`tasktrack.api.changes.ChangeFeed`'s business.

Wire format (``text/event-stream``)::

    event: ready   data: {"resumed": bool, "interval": s}   (after the baseline is taken)
    event: task    data: {the 13 contract fields}            (one per changed task)
    event: reset   data: {}    (more changed than one poll reads: reload the view)
    event: tick    data: {}    (keep-alive, every KEEPALIVE seconds of silence)
    event: bye     data: {}    (server shutting down or stream lifetime over: reconnect)

Every event but ``task`` carries an ``id:``: a resume point. A client that reconnects with
``?since=<id>`` gets every change after it (``ready`` then says ``resumed: true``); without it,
or when it is older than ``MAX_RESUME`` seconds, the client must reload what it shows.

A stream lasts at most ``lifetime`` seconds and ends within one ``interval`` of uvicorn being
told to exit, so an open dashboard never holds up a SIGTERM.

Revocation reaches an open stream: the credential is verified again before every poll that
found changes and at least every ``RECHECK`` seconds (one primary-key read), and the stream
ends with ``bye`` as soon as it no longer authenticates as the same caller. So a disabled user,
a revoked key or a revoked grant stops the stream within ``RECHECK`` seconds, and no change
read after the revocation is ever sent on it. (Verified credentials are cached only until the
identity data changes, so a cached one ends at the same re-check: docs/fast-reads.md.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tasktrack.api.changes import SLACK, ChangeFeed, Clock
from tasktrack.api.context import ApiContext, context_of
from tasktrack.api.problems import from_exception
from tasktrack.api.representation import task_fields
from tasktrack.api.shutdown import uvicorn_exiting
from tasktrack.domain.identity import Principal
from tasktrack.errors import InvalidArgument, Unauthenticated

#: The logger keeps the name it had when the stream lived in ``tasktrack.web``, so logging
#: configured for it still applies.
log = logging.getLogger("tasktrack.web")

#: How far back ``?since=`` may resume, in seconds.
MAX_RESUME = 300
#: Seconds of silence after which a keep-alive ``tick`` is sent.
KEEPALIVE = 15.0
#: Most seconds between two checks that the stream's credential still authenticates.
RECHECK = 1.0
_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}

Endpoint = Callable[[Request], Any]
#: True while the stream's credential still authenticates as the caller who opened it.
StillValid = Callable[[], Awaitable[bool]]


async def _always_valid() -> bool:
    return True


def event_routes(
    prefixes: Sequence[str],
    *,
    interval: float = 0.5,
    lifetime: float = 60.0,
) -> list[Route]:
    """``{prefix}/events`` for each of ``prefixes``."""
    events = events_endpoint(interval=interval, lifetime=lifetime)
    return [Route(f"{prefix}/events", events, methods=["GET"]) for prefix in prefixes]


def events_endpoint(
    *,
    interval: float = 0.5,
    lifetime: float = 60.0,
    exiting: Callable[[], bool] = uvicorn_exiting,
    clock: Clock = time.time,
) -> Endpoint:
    """The events endpoint, polling every ``interval`` seconds for at most ``lifetime``."""

    async def events(request: Request) -> Response:
        try:
            feed, resumed = await _open_feed(request, clock)
        except Exception as exc:
            return from_exception(request, exc)
        valid = still_valid(request, feed.principal)
        stream = _stream(feed, resumed, interval, lifetime, exiting, valid)
        return StreamingResponse(stream, media_type="text/event-stream", headers=_HEADERS)

    return events


async def _open_feed(request: Request, clock: Clock) -> tuple[ChangeFeed, bool]:
    """The caller's feed, from ``?since=`` when that is recent enough; True if resumed."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    scope = ctx.tasks.scope(principal, request.query_params.get("projectId"))
    now = clock()
    since = _since(request.query_params.get("since"), now)
    start = since if since is not None else int(now)
    return ChangeFeed(ctx.tasks, principal, scope, start, clock), since is not None


def still_valid(request: Request, principal: Principal) -> StillValid:
    """A check that the credential of ``request`` still authenticates as ``principal``.

    It verifies the credential directly, not through the request authenticator, so a stream's
    periodic checks are never counted by the failed-authentication limiter.
    """
    ctx = context_of(request)

    async def check() -> bool:
        try:
            return await _verify(ctx, request) == principal
        except Unauthenticated:
            return False

    return check


async def _verify(ctx: ApiContext, request: Request) -> Principal:
    """The caller the credential of ``request`` names now (the credential it opened with)."""
    key = request.headers.get("x-api-key") or request.query_params.get("api_key")
    if key:
        return await ctx.identity.authenticate_api_key(key)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("invalid bearer token")
    return await ctx.oauth.verify_access_token(token.strip())


def _event(kind: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def _since(raw: str | None, now: float) -> int | None:
    """The resume point of ``?since=``; None if absent or too old to resume from."""
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 10:
        raise InvalidArgument("since must be a resume point taken from an event id")
    since = int(raw)
    if since > now + SLACK:
        raise InvalidArgument("since lies in the future")
    return since if since >= now - MAX_RESUME else None


async def _stream(
    feed: ChangeFeed,
    resumed: bool,
    interval: float,
    lifetime: float,
    exiting: Callable[[], bool],
    valid: StillValid = _always_valid,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    end = loop.time() + lifetime
    try:
        if not resumed:
            await feed.poll()  # the baseline: the client reloads its view after `ready`
        yield _event("ready", {"resumed": resumed, "interval": interval}, feed.cursor)
        quiet_since = loop.time()
        guard = _Guard(valid, loop.time)
        while not exiting() and loop.time() < end:
            await asyncio.sleep(interval)
            if exiting():
                break
            chunk = await _changes(feed, quiet_since)
            if not await guard.allows(chunk):
                break  # revoked: what was read after the revocation is never sent
            if chunk:
                quiet_since = loop.time()
                yield chunk
    except Exception:
        log.exception("the event stream failed; the client will reconnect")
    yield _event("bye", {}, feed.cursor)


class _Guard:
    """Checks the credential before changes go out, and at least every RECHECK seconds."""

    def __init__(self, valid: StillValid, clock: Callable[[], float]) -> None:
        self.valid = valid
        self.clock = clock
        self.checked = clock()

    async def allows(self, chunk: bytes) -> bool:
        """False once the credential no longer authenticates (checked when due or ``chunk``)."""
        now = self.clock()
        if not chunk and now - self.checked < RECHECK:
            return True
        self.checked = now
        return await self.valid()


async def _changes(feed: ChangeFeed, quiet_since: float) -> bytes:
    """One poll's events: the changed tasks, then reset or tick (a lone tick after KEEPALIVE
    seconds of silence since ``quiet_since``, a time of the running loop's clock)."""
    changed, complete = await feed.poll()
    chunk = b"".join(_event("task", task_fields(t)) for t in changed)
    if not complete:
        return chunk + _event("reset", {}, feed.cursor)
    if changed or asyncio.get_running_loop().time() - quiet_since >= KEEPALIVE:
        return chunk + _event("tick", {}, feed.cursor)
    return b""
