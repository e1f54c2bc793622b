"""Request lines are logged only when asked for (TASKTRACK_ACCESS_LOG); metrics count always."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from tasktrack.api.edge import EdgeMiddleware
from tasktrack.metrics import HTTP_REQUESTS


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize("access_log", [False, True])
async def test_request_lines_only_when_turned_on(
    access_log: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = EdgeMiddleware(ok, access_log=access_log)
    counted = HTTP_REQUESTS.labels("GET", "/health", "204")
    before = counted._value.get()
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.INFO, logger="tasktrack.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/health", params={"api_key": "secret-in-query"})
    lines = [r.getMessage() for r in caplog.records if r.name == "tasktrack.access"]
    if access_log:  # client, request line without the query string, status, duration
        assert len(lines) == 1 and lines[0].startswith('127.0.0.1 "GET /health" 204 ')
    else:
        assert lines == []
    assert not any("secret-in-query" in line for line in lines)
    assert counted._value.get() == before + 1
