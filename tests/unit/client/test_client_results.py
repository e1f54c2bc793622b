"""``result``, ``wait_result``, ``details`` and ``rerun`` on both clients (mock transport)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tasktrack.client import Conflict, TaskStatus
from tests.unit.client.test_client_models import contract_task
from tests.unit.client.test_client_requests import ID, Both, Handler, Recorder


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Both]]:
    made: list[Both] = []

    def factory(handler: Handler, **kwargs: Any) -> Both:
        made.append(Both(request.param, handler, **kwargs))
        return made[-1]

    yield factory
    for both in made:
        both.close()


RESULT = {"taskId": ID, "status": "done", "result": {"answer": 42}, "failReason": ""}


def test_result_reads_the_result_resource(make: Callable[..., Both]) -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=RESULT))
    result = make(recorder)("result", ID, project_id="c" * 24)
    assert (result.task_id, result.status, result.value) == (ID, TaskStatus.DONE, {"answer": 42})
    (request,) = recorder.requests
    assert (request.method, request.url.path) == ("GET", f"/v2.0/tasks/{ID}/result")
    assert request.url.params["projectId"] == "c" * 24


def test_an_unfinished_tasks_result_is_a_conflict(make: Callable[..., Both]) -> None:
    problem = {"status": 409, "code": 1004, "detail": "not finished", "title": "Conflict"}
    both = make(lambda request: httpx.Response(409, json=problem))
    with pytest.raises(Conflict):
        both("result", ID)


def test_wait_result_waits_for_the_end_then_reads_the_result(make: Callable[..., Both]) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/result"):
            return httpx.Response(200, json=RESULT)
        return httpx.Response(200, json=contract_task(status="done"))

    recorder = Recorder(respond)
    result = make(recorder)("wait_result", ID, timeout=5)
    assert result.value == {"answer": 42}
    paths = [r.url.path for r in recorder.requests]
    assert paths == [f"/v2.0/tasks/{ID}", f"/v2.0/tasks/{ID}/result"]


def test_details_and_rerun(make: Callable[..., Both]) -> None:
    other = "0" * 23 + "9"
    details = {
        "_id": ID,
        "attempts": 2,
        "maxAttempts": 3,
        "rerunOf": None,
        "reruns": [other],
        "hasResult": False,
    }

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/details"):
            return httpx.Response(200, json=details)
        return httpx.Response(201, json=contract_task(_id=other, status="queued"))

    recorder = Recorder(respond)
    both = make(recorder)
    got = both("details", ID)
    assert (got.attempts, got.max_attempts, got.rerun_of, got.reruns) == (2, 3, None, [other])
    assert got.has_result is False
    task = both("rerun", ID)
    assert task.id == other and task.status is TaskStatus.QUEUED
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", f"/v2.0/tasks/{ID}/details"),
        ("POST", f"/v2.0/tasks/{ID}/rerun"),
    ]
    assert got.concurrency_key is None  # a server without issue 14 sends none


def test_details_carry_the_concurrency_key(make: Callable[..., Both]) -> None:
    details = {"_id": ID, "attempts": 0, "maxAttempts": 1, "rerunOf": None, "reruns": []}
    details |= {"hasResult": False, "concurrencyKey": "acme"}
    got = make(Recorder(lambda _: httpx.Response(200, json=details)))("details", ID)
    assert got.concurrency_key == "acme"
