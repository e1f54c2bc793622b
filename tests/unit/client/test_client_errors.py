"""Error answers become typed exceptions carrying status, code, detail and traceId."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tasktrack.client import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
)
from tasktrack.client.errors import error_from_response, retry_after


def problem(
    status: int, code: int, detail: str = "it went wrong", **headers: str
) -> httpx.Response:
    body = {
        "type": "about:blank",
        "title": "Some Title",
        "status": status,
        "detail": detail,
        "instance": "/v2.0/tasks/x",
        "code": code,
        "traceId": "trace-123",
        "details": {"field": "x"},
    }
    return httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json", **headers}
    )


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, 1005, BadRequest),
        (401, 401, Unauthorized),
        (403, 403, Forbidden),
        (404, 1002, NotFound),
        (406, 406, NotAcceptable),
        (409, 1004, Conflict),
        (413, 413, PayloadTooLarge),
        (429, 429, RateLimited),
        (500, 1008, ServerError),
        (503, 503, ServerError),
    ],
)
def test_each_status_has_its_class(status: int, code: int, cls: type[ApiError]) -> None:
    error = error_from_response(problem(status, code))
    assert type(error) is cls and isinstance(error, ApiError)
    assert (error.status, error.code, error.detail) == (status, code, "it went wrong")
    assert error.trace_id == "trace-123"
    assert error.title == "Some Title" and error.details == {"field": "x"}
    assert str(error) == f"{status} Some Title: it went wrong (code {code}, traceId trace-123)"


def test_an_unknown_status_is_a_plain_api_error() -> None:
    error = error_from_response(problem(418, 418))
    assert type(error) is ApiError and error.status == 418


def test_a_body_that_is_not_problem_json_still_gives_a_useful_error() -> None:
    html = "<html>\n<body>Bad   gateway\nfrom the proxy</body></html>"
    response = httpx.Response(
        502, text=html, headers={"content-type": "text/html", "x-trace-id": "t-9"}
    )
    error = error_from_response(response)
    assert isinstance(error, ServerError)
    assert error.code is None and error.trace_id == "t-9" and error.title == "Bad Gateway"
    assert "Bad gateway from the proxy" in error.detail
    assert "\n" not in str(error)


def test_an_empty_body_falls_back_to_the_status_phrase() -> None:
    error = error_from_response(httpx.Response(404))
    assert isinstance(error, NotFound) and error.detail == "Not Found"


def test_odd_member_types_are_ignored() -> None:
    body: dict[str, Any] = {"detail": 5, "code": "x", "traceId": 7, "details": [], "title": 1}
    error = error_from_response(httpx.Response(409, json=body))
    assert isinstance(error, Conflict)
    assert (error.code, error.trace_id, error.details, error.title) == (None, None, {}, "Conflict")


def test_the_summary_is_one_line() -> None:
    error = error_from_response(problem(400, 1005, detail="line one\nline two"))
    assert str(error) == "400 Some Title: line one line two (code 1005, traceId trace-123)"


def test_rate_limited_carries_retry_after_seconds() -> None:
    error = error_from_response(problem(429, 429, **{"Retry-After": "7"}))
    assert isinstance(error, RateLimited) and error.retry_after == 7.0
    assert isinstance(error_from_response(problem(429, 429)), RateLimited)
    assert error_from_response(problem(429, 429)).retry_after is None  # type: ignore[attr-defined]


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    response = httpx.Response(429, headers={"Retry-After": "Mon, 01 Jan 2024 12:00:30 GMT"})
    assert retry_after(response, now) == 30.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
