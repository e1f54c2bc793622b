"""A busy database is the API's 503 with Retry-After, never a 500."""

from __future__ import annotations

import orjson
from starlette.requests import Request

from tasktrack.api.problems import from_exception
from tasktrack.errors import DatabaseBusy


def test_a_busy_database_is_a_503_to_retry() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v2.0/tasks",
        "headers": [],
        "query_string": b"",
    }
    response = from_exception(
        Request(scope), DatabaseBusy("SQLite commit failed: database is locked")
    )
    assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    assert response.headers["content-type"] == "application/problem+json"
    assert orjson.loads(response.body)["detail"] == "SQLite commit failed: database is locked"
