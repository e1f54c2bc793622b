"""Both clients against ``httpx.MockTransport``: the requests they send, what they make of the
answers, lazy paging, retries. Every test runs once with the sync and once with the async client,
which share their logic in ``tasktrack.client.core``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tasktrack.client import (
    AsyncTaskTrackClient,
    BadRequest,
    NotFound,
    TaskStatus,
    TaskTrackClient,
    TransportError,
    UnexpectedResponse,
)
from tests.unit.client.test_client_models import contract_task

BASE = "http://tasks.test"
ID = "65a1f0c2e4b0a1b2c3d4e5f6"
Handler = Callable[[httpx.Request], httpx.Response]


class Both:
    """The same calls on the sync or the async client; async results are awaited/collected."""

    def __init__(self, kind: str, handler: Handler, **kwargs: Any) -> None:
        self.kind = kind
        transport = httpx.MockTransport(handler)
        self.sync = TaskTrackClient(BASE, transport=transport, **kwargs) if kind == "sync" else None
        self.aio = (
            AsyncTaskTrackClient(BASE, transport=transport, **kwargs) if not self.sync else None
        )

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.sync is not None:
            result = getattr(self.sync, method)(*args, **kwargs)
            return list(result) if method in ("list", "watch") else result

        async def go() -> Any:
            result = getattr(self.aio, method)(*args, **kwargs)
            if method in ("list", "watch"):
                return [item async for item in result]
            return await result

        return asyncio.run(go())

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        elif self.aio is not None:
            asyncio.run(self.aio.aclose())


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Both]]:
    made: list[Both] = []

    def factory(handler: Handler, **kwargs: Any) -> Both:
        made.append(Both(request.param, handler, **kwargs))
        return made[-1]

    yield factory
    for both in made:
        both.close()


class Recorder:
    """A handler that records requests and answers with ``respond(request)``."""

    def __init__(self, respond: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


def ok(body: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=body)


def test_get_sends_accept_json_and_the_api_key(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task(_id=ID)))
    task = make(server, api_key="tt_secret")("get", ID)
    assert task.id == ID and task.status is TaskStatus.ACTIVE
    sent = server.requests[0]
    assert (sent.method, sent.url.path) == ("GET", f"/v2.0/tasks/{ID}")
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["x-api-key"] == "tt_secret"
    assert "authorization" not in sent.headers


def test_bearer_token_and_the_new_prefix(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task()))
    make(server, token="tok", base_path="/new/v2.0/")("get", ID, project_id="p" * 24)
    sent = server.requests[0]
    assert sent.url.path == f"/new/v2.0/tasks/{ID}"
    assert sent.url.params["projectId"] == "p" * 24
    assert sent.headers["authorization"] == "Bearer tok"
    assert "x-api-key" not in sent.headers


def test_an_id_cannot_escape_its_path_segment(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task()))
    make(server)("get", "../x?y")
    assert server.requests[0].url.raw_path == b"/v2.0/tasks/..%2Fx%3Fy"


def test_create_posts_name_data_and_project(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task(status="queued"), status=201))
    task = make(server)("create", "demo.sleep", {"seconds": 1}, project_id="a" * 24)
    assert task.status is TaskStatus.QUEUED
    sent = server.requests[0]
    assert (sent.method, sent.url.path) == ("POST", "/v2.0/tasks")
    assert json.loads(sent.content) == {
        "name": "demo.sleep",
        "data": {"seconds": 1},
        "projectId": "a" * 24,
    }


def test_cancel_posts_to_the_cancel_route(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task(status="cancelling")))
    assert make(server)("cancel", ID).status is TaskStatus.CANCELLING
    assert (server.requests[0].method, server.requests[0].url.path) == (
        "POST",
        f"/v2.0/tasks/{ID}/cancel",
    )


def test_list_page_sends_the_contract_parameters(make: Callable[..., Both]) -> None:
    server = Recorder(ok({"items": [contract_task()], "total": 9, "nextCursor": "n1"}))
    page = make(server)(
        "list_page",
        status=["queued", "active"],
        name="demo.sleep",
        text="sle",
        sort="createdAt:asc",
        limit=5,
        cursor="c0",
        project_id="b" * 24,
        filters={"totalStep": 4},
    )
    assert (page.total, page.next_cursor, len(page.items)) == (9, "n1", 1)
    assert list(server.requests[0].url.params.multi_items()) == [
        ("status", "queued,active"),
        ("name", "demo.sleep"),
        ("totalStep", "4"),
        ("filter", "sle"),
        ("sort", "createdAt:asc"),
        ("limit", "5"),
        ("next", "c0"),
        ("projectId", "b" * 24),
    ]


def paged(total: int, size: int) -> Handler:
    """A list endpoint serving tasks 0..total-1 in pages of ``size`` (the cursor: an offset)."""

    def respond(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("next", "0"))
        end = min(start + size, total)
        items = [contract_task(_id=f"{i:024x}") for i in range(start, end)]
        cursor = str(end) if end < total else None
        return httpx.Response(200, json={"items": items, "total": total, "nextCursor": cursor})

    return respond


def test_list_follows_the_cursors_through_every_page(make: Callable[..., Both]) -> None:
    server = Recorder(paged(total=7, size=3))
    tasks = make(server)("list", status="done", page_size=3)
    assert [t.id for t in tasks] == [f"{i:024x}" for i in range(7)]
    assert [r.url.params.get("next") for r in server.requests] == [None, "3", "6"]
    assert all(r.url.params["status"] == "done" for r in server.requests)
    assert all(r.url.params["limit"] == "3" for r in server.requests)


def test_sync_list_fetches_pages_only_as_they_are_consumed() -> None:
    server = Recorder(paged(total=100, size=10))
    with TaskTrackClient(BASE, transport=httpx.MockTransport(server)) as client:
        tasks = client.list(page_size=10)
        assert server.requests == []  # nothing before the first item is asked for
        first = [next(tasks) for _ in range(11)]
        assert len(first) == 11 and len(server.requests) == 2


async def test_async_list_fetches_pages_only_as_they_are_consumed() -> None:
    server = Recorder(paged(total=100, size=10))
    async with AsyncTaskTrackClient(BASE, transport=httpx.MockTransport(server)) as client:
        seen = 0
        async for _ in client.list(page_size=10):
            seen += 1
            if seen == 5:
                break
        assert len(server.requests) == 1


def test_list_stops_when_a_server_repeats_its_cursor(make: Callable[..., Both]) -> None:
    body = {"items": [contract_task()], "total": 5, "nextCursor": "same"}
    server = Recorder(ok(body))
    assert len(make(server)("list")) == 2  # first page, then the page of "same", then stop
    assert len(server.requests) == 2


def test_an_error_answer_raises_its_typed_exception(make: Callable[..., Both]) -> None:
    body = {"title": "Not Found", "detail": "no task", "code": 1002, "traceId": "abc"}
    server = Recorder(ok(body, status=404))
    with pytest.raises(NotFound) as caught:
        make(server)("get", ID)
    assert (caught.value.status, caught.value.code, caught.value.trace_id) == (404, 1002, "abc")
    assert caught.value.detail == "no task"


@pytest.mark.parametrize(
    "reply",
    [
        {"status_code": 200, "text": "<html>hi</html>", "headers": {"content-type": "text/html"}},
        {"status_code": 200, "json": {"name": "x"}},
        {"status_code": 204},
    ],
    ids=["html", "not-a-task", "no-content"],
)
def test_an_answer_that_is_not_a_task_is_unexpected(
    make: Callable[..., Both], reply: dict[str, Any]
) -> None:
    with pytest.raises(UnexpectedResponse):
        make(lambda request: httpx.Response(**reply))("get", ID)


def failing(errors: list[Exception], then: Handler) -> Recorder:
    """A handler that raises ``errors`` in turn, then answers with ``then``."""

    def respond(request: httpx.Request) -> httpx.Response:
        if errors:
            raise errors.pop(0)
        return then(request)

    return Recorder(respond)


def test_a_get_is_retried_once_after_a_connection_error(make: Callable[..., Both]) -> None:
    server = failing([httpx.ConnectError("refused")], ok(contract_task()))
    assert make(server)("get", ID).name == "exportPackage"
    assert len(server.requests) == 2


def test_a_get_is_not_retried_twice(make: Callable[..., Both]) -> None:
    server = failing([httpx.ConnectError("refused"), httpx.ConnectError("again")], ok({}))
    with pytest.raises(TransportError, match=r"cannot connect to http://tasks\.test: again"):
        make(server)("get", ID)
    assert len(server.requests) == 2


def test_a_post_is_never_retried(make: Callable[..., Both]) -> None:
    server = failing([httpx.ConnectError("refused")], ok(contract_task()))
    with pytest.raises(TransportError):
        make(server)("create", "demo.sleep")
    assert len(server.requests) == 1


def test_a_timeout_is_not_retried(make: Callable[..., Both]) -> None:
    server = failing([httpx.ReadTimeout("slow")], ok(contract_task()))
    with pytest.raises(TransportError, match="timed out"):
        make(server)("get", ID)
    assert len(server.requests) == 1


def test_the_timeout_applies_to_every_request(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task()))
    make(server, timeout=4.0)("get", ID)
    timeout = server.requests[0].extensions["timeout"]
    assert timeout["connect"] == 4.0 and timeout["read"] == 4.0


def test_a_server_400_is_a_bad_request(make: Callable[..., Both]) -> None:
    body = {"detail": "limit must be between 1 and 100", "code": 1005}
    with pytest.raises(BadRequest, match="limit must be"):
        make(Recorder(ok(body, status=400)))("list_page", limit=500)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("ftp://x",), {}),
        ((BASE,), {"api_key": "k", "token": "t"}),
        ((BASE,), {"timeout": 0}),
    ],
)
def test_bad_settings_are_refused_at_construction(args: tuple[str], kwargs: Any) -> None:
    with pytest.raises(ValueError):
        TaskTrackClient(*args, **kwargs)
