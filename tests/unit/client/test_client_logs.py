"""client.logs() and follow_logs(), sync and async, against a mock server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tasktrack.client import UnexpectedResponse
from tasktrack.client.logs import LogPage
from tests.unit.client.test_client_requests import ID, Both, Recorder, make

__all__ = ["make"]


def line(seq: int, message: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "attempt": 1,
        "at": "2026-01-02T03:04:05.678Z",
        "level": "INFO",
        "message": message,
    }


def page(items: list[dict[str, Any]], next_: int, finished: bool) -> httpx.Response:
    return httpx.Response(200, json={"items": items, "next": next_, "finished": finished})


def follow(both: Both) -> list[Any]:
    if both.sync is not None:
        return list(both.sync.follow_logs(ID))

    async def go() -> list[Any]:
        assert both.aio is not None
        return [x async for x in both.aio.follow_logs(ID)]

    return asyncio.run(go())


def test_logs_sends_the_cursor_and_parses_the_page(make: Callable[..., Both]) -> None:
    recorder = Recorder(lambda request: page([line(7, "hi")], 7, False))
    both = make(recorder)
    got: LogPage = both("logs", ID, 5, limit=10, wait=2.5)
    assert got.next == 7 and not got.finished
    assert (got.items[0].seq, got.items[0].message, got.items[0].at.year) == (7, "hi", 2026)
    request = recorder.requests[0]
    assert request.url.path == f"/v2.0/tasks/{ID}/logs"
    assert dict(request.url.params) == {"after": "5", "limit": "10", "wait": "2.5"}


def test_follow_reads_from_the_last_cursor_until_finished(make: Callable[..., Both]) -> None:
    answers = iter(
        [
            page([line(1, "a"), line(2, "b")], 2, False),
            page([], 2, False),  # a long poll that timed out
            page([line(3, "c")], 3, True),
        ]
    )
    recorder = Recorder(lambda request: next(answers))
    both = make(recorder)
    assert [x.message for x in follow(both)] == ["a", "b", "c"]
    afters = [r.url.params.get("after") for r in recorder.requests]
    assert afters == [None, "2", "2"]
    assert all(r.url.params["wait"] for r in recorder.requests)


def test_a_body_that_is_not_a_page_is_an_unexpected_response(make: Callable[..., Both]) -> None:
    both = make(lambda request: httpx.Response(200, json={"items": "nope"}))
    with pytest.raises(UnexpectedResponse):
        both("logs", ID)
