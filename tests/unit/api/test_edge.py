"""EdgeMiddleware: request id, limiter and metrics as one layer, in the order a user relies on."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from tasktrack.api.edge import EdgeMiddleware
from tasktrack.api.ratelimit import FailedAuthLimiter, RateLimitPolicy
from tasktrack.metrics import HTTP_REQUESTS
from tasktrack.observability import context

KEY = "tt_" + "a" * 24 + "_secret"


def count(status: str, route: str = "/v2.0/tasks") -> float:
    value: float = HTTP_REQUESTS.labels("GET", route, status)._value.get()
    return value


async def answered(scope: Scope, receive: Receive, send: Send) -> None:
    body = (context.request_id.get() or "").encode()  # what the app saw as its request id
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_a_limited_request_gets_its_429_with_the_id_and_is_counted() -> None:
    limiter = FailedAuthLimiter(RateLimitPolicy(failures_per_minute=1))
    limiter.record_failure("127.0.0.1", "key:" + "a" * 24)  # the pair's only token spent
    app = EdgeMiddleware(answered, limiter=limiter)
    before_429, before_200 = count("429"), count("200")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        limited = await c.get("/v2.0/tasks", headers={"X-API-Key": KEY, "X-Request-Id": "rid-0001"})
        other = await c.get("/v2.0/tasks", headers={"X-API-Key": "tt_" + "b" * 24 + "_x"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert limited.headers["x-request-id"] == limited.json()["traceId"] == "rid-0001"
    assert other.status_code == 200  # another account from the same address still passes
    assert other.text == other.headers["x-request-id"]  # the app ran inside the id's context
    assert (count("429"), count("200")) == (before_429 + 1, before_200 + 1)


async def test_an_app_that_fails_before_answering_is_counted_as_500_and_logged_with_its_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    app = EdgeMiddleware(broken, access_log=True)
    before = count("500")
    with caplog.at_level(logging.INFO, logger="tasktrack.access"):
        with pytest.raises(RuntimeError):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                await c.get("/v2.0/tasks", headers={"X-Request-Id": "rid-0002"})
    assert count("500") == before + 1
    (line,) = [r for r in caplog.records if r.name == "tasktrack.access"]
    assert line.getMessage().startswith('127.0.0.1 "GET /v2.0/tasks" 500 ')
    assert context.request_id.get() is None  # unbound after the request, even a failed one


async def test_without_metrics_nothing_is_counted() -> None:
    app = EdgeMiddleware(answered, metrics=False)
    before = count("200", route="/health")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        reply = await c.get("/health")
    assert reply.status_code == 200 and reply.headers["x-request-id"]
    assert count("200", route="/health") == before
