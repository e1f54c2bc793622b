"""``GET /v2.0/events``: a server-sent-events stream of the caller's task changes (ours).

The dashboard reads it with ``fetch()`` (not ``EventSource``, which cannot send the
``X-API-Key`` / ``Authorization`` header), so the credential never goes into a URL.

How a stream learns of changes: one :class:`ChangeFeed` per connection lists the caller's
tasks whose ``lastChanged`` lies in a short window, every ``interval`` seconds, through the
same service call ``GET /tasks`` uses (so it is scoped to the caller's organisation and served
by the ``(org_id, last_changed, id)`` index). ``lastChanged`` has one-second granularity and
writers' clocks may differ a little, so each poll re-reads from ``SLACK`` seconds before the
previous poll began and drops what it already sent, by task version.

Wire format (``text/event-stream``)::

    event: ready   data: {"resumed": bool, "interval": s}   (after the baseline is taken)
    event: task    data: {the 13 contract fields}            (one per changed task)
    event: reset   data: {}    (more changed than one poll reads: reload the view)
    event: tick    data: {}    (keep-alive, every KEEPALIVE seconds of silence)
    event: bye     data: {}    (server shutting down or stream lifetime over: reconnect)

Every event but ``task`` carries an ``id:``: a resume point. A client that reconnects with
``?since=<id>`` gets every change after it (``ready`` then says ``resumed: true``); without it,
or when it is older than ``MAX_RESUME`` seconds, the client must reload what it shows.

A stream lasts at most ``lifetime`` seconds (the credential is checked again on the next
connection) and ends within one ``interval`` of uvicorn being told to exit, so an open
dashboard never holds up a SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tasktrack.api.context import ApiContext
from tasktrack.api.problems import from_exception
from tasktrack.api.representation import task_fields
from tasktrack.domain.identity import Principal
from tasktrack.domain.listing import FieldFilter, ListQuery, Scope, parse_sort
from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument
from tasktrack.service.tasks import TaskService

log = logging.getLogger("tasktrack.web")

#: Seconds of ``lastChanged`` re-read on every poll (second granularity plus clock skew).
SLACK = 2
#: Tasks read per page, and pages read per poll before the client is told to reset.
PAGE_SIZE = 100
MAX_PAGES = 5
#: How far back ``?since=`` may resume, in seconds.
MAX_RESUME = 300
#: Seconds of silence after which a keep-alive ``tick`` is sent.
KEEPALIVE = 15.0
_INT32_MAX = 2_147_483_647

Clock = Callable[[], float]


class ChangeFeed:
    """The changes of one caller's tasks, polled from the store."""

    def __init__(
        self,
        tasks: TaskService,
        principal: Principal,
        scope: Scope,
        since: int,
        clock: Clock = time.time,
    ) -> None:
        self.tasks = tasks
        self.principal = principal
        self.scope = scope
        self.clock = clock
        #: Start of the next poll's window (before SLACK is taken off).
        self.cursor = since
        #: Versions already reported, with the task's lastChanged (for pruning).
        self._seen: dict[str, tuple[int, int]] = {}

    async def poll(self) -> tuple[list[Task], bool]:
        """Tasks changed since the last poll, oldest change first; False when truncated."""
        started = int(self.clock())
        low = self.cursor - SLACK
        changed: list[Task] = []
        complete = False
        query = ListQuery(
            scope=self.scope,
            filters=(FieldFilter("lastChanged", range=(low, _INT32_MAX)),),
            sort=parse_sort("lastChanged:asc"),
            limit=PAGE_SIZE,
        )
        for _ in range(MAX_PAGES):
            page = await self.tasks.list(self.principal, query)
            for task in page.items:
                if self._seen.get(task.id, (None,))[0] != task.version:
                    changed.append(task)
                self._seen[task.id] = (task.version, task.last_changed)
            if page.next_cursor is None:
                complete = True
                break
            query = ListQuery(
                scope=self.scope,
                filters=query.filters,
                limit=PAGE_SIZE,
                cursor=page.next_cursor,
            )
        # What lies before the next window is never read again: forget it.
        self._seen = {k: v for k, v in self._seen.items() if v[1] >= started - SLACK}
        self.cursor = started
        return changed, complete


def uvicorn_exiting() -> bool:
    """True once uvicorn has been asked to exit (SIGTERM/SIGINT).

    uvicorn drains open responses before it runs the lifespan shutdown, so an app cannot learn
    of the shutdown from its lifespan; uvicorn's signal handler is a bound method of its
    ``Server``, whose ``should_exit`` flag is the earliest sign. Any other server: False (the
    stream lifetime bounds the wait instead).
    """
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return getattr(server, "should_exit", False) is True


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


def events_endpoint(
    *,
    interval: float = 0.5,
    lifetime: float = 60.0,
    exiting: Callable[[], bool] = uvicorn_exiting,
    clock: Clock = time.time,
) -> Callable[[Request], Any]:
    """The events endpoint; the app's context is ``request.app.state.ctx``."""

    async def events(request: Request) -> Response:
        ctx: ApiContext = request.app.state.ctx
        try:
            principal = await ctx.authenticate(request)
            scope = ctx.tasks.scope(principal, request.query_params.get("projectId"))
            now = clock()
            since = _since(request.query_params.get("since"), now)
        except Exception as exc:
            return from_exception(request, exc)
        resumed = since is not None
        start = since if since is not None else int(now)
        feed = ChangeFeed(ctx.tasks, principal, scope, start, clock)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        stream = _stream(feed, resumed, interval, lifetime, exiting)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    return events


async def _stream(
    feed: ChangeFeed,
    resumed: bool,
    interval: float,
    lifetime: float,
    exiting: Callable[[], bool],
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    end = loop.time() + lifetime
    try:
        if not resumed:
            await feed.poll()  # the baseline: the client reloads its view after `ready`
        yield _event("ready", {"resumed": resumed, "interval": interval}, feed.cursor)
        quiet_since = loop.time()
        while not exiting() and loop.time() < end:
            await asyncio.sleep(interval)
            if exiting():
                break
            changed, complete = await feed.poll()
            chunk = b"".join(_event("task", task_fields(t)) for t in changed)
            if not complete:
                chunk += _event("reset", {}, feed.cursor)
            elif changed:
                chunk += _event("tick", {}, feed.cursor)
            elif loop.time() - quiet_since >= KEEPALIVE:
                chunk = _event("tick", {}, feed.cursor)
            if chunk:
                quiet_since = loop.time()
                yield chunk
    except Exception:
        log.exception("the event stream failed; the client will reconnect")
    yield _event("bye", {}, feed.cursor)
