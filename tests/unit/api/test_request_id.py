"""One id per request: the caller's (if sane) or a new one, in the body, headers and logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.edge import EdgeMiddleware
from tasktrack.api.problems import problem
from tasktrack.api.request_id import choose, trace_of
from tasktrack.observability.logs import ContextFilter

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparent_gives_its_trace_id_and_invalid_ones_are_ignored() -> None:
    assert trace_of(PARENT) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_of("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None  # all-zero: invalid
    assert trace_of("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01") is None
    assert trace_of("garbage") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({b"x-trace-id": b"trace-1234abcd", b"traceparent": PARENT.encode()}, "trace-1234abcd"),
        ({b"traceparent": PARENT.encode(), b"x-request-id": b"req-12345678"}, PARENT[3:35]),
        ({b"x-request-id": b"req-12345678"}, "req-12345678"),
    ],
)
def test_the_callers_id_is_taken_in_order(headers: dict[bytes, bytes], expected: str) -> None:
    assert choose(headers) == expected


@pytest.mark.parametrize("given", [b"short", b"has spaces in it", b"new\nline-injected", b"-" * 9])
def test_an_insane_id_is_replaced_by_a_new_one(given: bytes) -> None:
    chosen = choose({b"x-request-id": given})
    assert chosen != given.decode("latin-1") and len(chosen) == 32
    assert choose({}) != choose({})  # fresh each time


async def test_the_problem_the_header_and_the_log_line_share_the_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def missing(request: Request) -> Response:
        logging.getLogger("tests.request_id").info("looking")
        return problem(request, 404, "no such thing")

    app = Starlette(routes=[Route("/x", missing)])
    transport = httpx.ASGITransport(app=EdgeMiddleware(app, metrics=False))
    caplog.handler.addFilter(ContextFilter())  # stamps each record as it is logged
    with caplog.at_level(logging.INFO, logger="tests.request_id"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            given = await client.get("/x", headers={"X-Request-Id": "abc-12345678"})
            fresh = await client.get("/x")
    assert given.json()["traceId"] == given.headers["x-request-id"] == "abc-12345678"
    assert given.headers["x-trace-id"] == "abc-12345678"
    assert fresh.json()["traceId"] == fresh.headers["x-request-id"] != "abc-12345678"
    assert [getattr(r, "request_id", None) for r in caplog.records] == [
        "abc-12345678",
        fresh.headers["x-request-id"],
    ]
