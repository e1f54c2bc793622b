"""The hot read, ``GET /v2.0/tasks/{taskId}`` with an API key, answered before the router.

Why it exists: reading one task is what every polling client does all day, and the GET-one
benchmark (bench/README.md) found Starlette's exception layer, router, ``Request`` and handler
wrapper costing about as much as the read itself. This layer sits inside the metrics and
rate-limit middleware (so those still count and limit every request) and in front of the
router. It takes only the plain case: a GET of one well-formed task id, the key in one
``X-API-Key`` header and no other credential, no query string, no ``If-None-Match``. It
answers only a success, through the same services and the same response builder as the
routed handler (byte-identical; a test compares the two). Everything else, every failure
included (an unknown key, a missing task, an unacceptable ``Accept``), goes on to the routed
app, which answers as it always has: the problem+json bodies, trace ids and the
failed-authentication limiter stay in one place. A failed fast read is therefore redone once
by the app; failures are the rare case.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tasktrack.api.context import ApiContext
from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.renderers import RENDERERS
from tasktrack.api.routes.tasks import prefix_of, task_response

_TASK_PATH = re.compile(r"/(?:new/)?v2\.0/tasks/([0-9a-f]{24})\Z")


class TaskReadFastPath:
    """ASGI middleware: serves the plain successful GET-one, passes everything else on."""

    def __init__(self, app: ASGIApp, context: Callable[[], ApiContext | None]) -> None:
        self.app = app
        self.context = context  # None until the app's lifespan has opened the stores

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = _TASK_PATH.match(scope["path"])
            ctx = self.context() if match else None
            if match and ctx is not None:
                response = await _read(ctx, scope, match.group(1))
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def _read(ctx: ApiContext, scope: Scope, task_id: str) -> Response | None:
    key = accept = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            if key is not None:
                return None  # two credentials: the routed app refuses them (401)
            key = value
        elif name == b"accept" and accept is None:  # the first wins, as in Headers.get
            accept = value
        elif name in (b"if-none-match", b"authorization"):
            # Conditional reads (304) are the routed handler's, and so is refusing a second
            # credential beside the key (tasktrack.api.security: exactly one per request).
            return None
    if not key:
        return None
    media = choose_media_type(accept.decode("latin-1") if accept is not None else None)
    if media is None:
        return None
    try:
        principal = await ctx.identity.authenticate_api_key(key.decode("latin-1"))
        task = await ctx.tasks.get(principal, task_id)
    except Exception:
        # Not ours to answer: the routed app redoes the read and reports whatever went wrong
        # (401, 404, or a logged 500) the one way it always does.
        return None
    return task_response(prefix_of(scope["path"]), RENDERERS[media], task)
