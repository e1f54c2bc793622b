"""The one middleware every request passes first: its id, its metrics and access-log line, and
the failed-authentication limiter's 429.

Why one layer and not three: each ASGI layer is a coroutine call per request and a ``send``
wrapper per message. Measured on the hot read (``GET /tasks/{id}`` through the app, paired
batches, bench/README.md "Stop 23") the merge saves only ~1-2 µs of ~60, but it also gives
the three steps one fixed order in one place instead of an order spread over
``add_middleware`` calls. What each step does lives in its own module; this class only
orders them:

1. the request id is chosen and bound (:mod:`tasktrack.api.request_id`), so everything below,
   the access log and the limiter's 429 included, carries it;
2. a credentialed request from an address or for an account out of budget gets its 429
   (:func:`tasktrack.api.ratelimit.refusal`) instead of reaching the app;
3. whatever answered, the request is counted, timed and (if enabled) logged
   (:class:`tasktrack.api.access_log.RequestRecorder`).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasktrack.api.access_log import RequestRecorder
from tasktrack.api.ratelimit import FailedAuthLimiter, refusal
from tasktrack.api.request_id import choose
from tasktrack.observability import context


class EdgeMiddleware:
    """Request id, failed-authentication limit and metrics, in one ASGI layer.

    ``limiter`` None: no 429s (an app without credentials); ``metrics`` False: nothing counted
    (the worker's health server, whose requests are not the API's).
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: FailedAuthLimiter | None = None,
        access_log: bool = False,
        metrics: bool = True,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.recorder = RequestRecorder(access_log) if metrics else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = choose(dict(scope["headers"]))
        header = (b"x-request-id", rid.encode())
        status = 500  # what the client sees if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = context.request_id.set(rid)
        try:
            refused = refusal(self.limiter, scope) if self.limiter is not None else None
            if refused is not None:
                await refused(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            if self.recorder is not None:  # inside the id's context: the log line carries it
                self.recorder.record(scope, status, time.perf_counter() - start)
            context.request_id.reset(token)
