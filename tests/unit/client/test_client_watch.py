"""Watching a task: long-poll with ``?wait=`` and ``If-None-Match``, fall back to polling once a
second against servers that ignore ``wait``, give up at the deadline."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tasktrack.client import TaskStatus, WaitTimeout
from tasktrack.client.core import Api, Watcher
from tests.unit.client.test_client_models import contract_task
from tests.unit.client.test_client_requests import ID, Both, Recorder, make

__all__ = ["make"]  # the sync/async parity fixture, shared with test_client_requests


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answer(status: str, step: int, version: int) -> httpx.Response:
    body = contract_task(_id=ID, status=status, currentStep=step, totalStep=3)
    return httpx.Response(200, json=body, headers={"ETag": f'W/"{ID}.{version}"'})


class LongPollServer:
    """Honours ``wait`` and ``If-None-Match``: each long-poll gets the next state, or a 304."""

    def __init__(self, states: list[tuple[str, int]]) -> None:
        self.states = states
        self.version = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        seen = request.headers.get("if-none-match")
        if seen == f'W/"{ID}.{self.version}"':
            if self.version + 1 >= len(self.states):
                return httpx.Response(304)
            self.version += 1
        status, step = self.states[self.version]
        return answer(status, step, self.version)


def test_watch_long_polls_and_yields_every_change(make: Callable[..., Both]) -> None:
    states = [("queued", 0), ("active", 1), ("active", 2), ("done", 3)]
    server = LongPollServer(states)
    seen = make(server)("watch", ID)
    assert [(t.status, t.current_step) for t in seen] == states
    first, *polls = server.requests
    assert "wait" not in first.url.params and "if-none-match" not in first.headers
    assert [r.url.params["wait"] for r in polls] == ["30"] * 3
    assert [r.headers["if-none-match"] for r in polls] == [f'W/"{ID}.{v}"' for v in range(3)]
    assert polls[0].extensions["timeout"]["read"] == 30.0 + 30.0  # the wait on top


def test_wait_returns_the_terminal_task(make: Callable[..., Both]) -> None:
    server = LongPollServer([("active", 0), ("error", 0)])
    final = make(server)("wait", ID, timeout=10)
    assert final.status is TaskStatus.ERROR


def test_an_already_finished_task_is_one_request(make: Callable[..., Both]) -> None:
    server = LongPollServer([("cancelled", 1)])
    assert len(make(server)("watch", ID)) == 1
    assert len(server.requests) == 1


def test_a_server_that_ignores_wait_is_polled_and_unchanged_answers_are_skipped(
    make: Callable[..., Both],
) -> None:
    replies = iter(["active", "active", "active", "done"])
    server = Recorder(lambda r: answer(next(replies), 1, 0))  # no ETag logic, no long-poll
    seen = make(server)("watch", ID, poll_interval=0.01)
    assert [t.status for t in seen] == ["active", "done"]
    assert len(server.requests) == 4


def test_watch_gives_up_at_the_deadline(make: Callable[..., Both]) -> None:
    server = Recorder(lambda r: httpx.Response(304) if r.url.params else answer("active", 1, 0))
    with pytest.raises(WaitTimeout) as caught:
        make(server)("wait", ID, timeout=0.2, max_wait=0.05)
    assert caught.value.last is not None and caught.value.last.status is TaskStatus.ACTIVE
    assert caught.value.task_id == ID and caught.value.timeout == 0.2


def test_watch_raises_the_servers_error(make: Callable[..., Both]) -> None:
    server = Recorder(lambda r: httpx.Response(404, json={"detail": "gone", "code": 1002}))
    with pytest.raises(Exception, match="gone"):
        make(server)("watch", ID)


# The state machine itself, on a fake clock.


def watcher(timeout: float | None = None, max_wait: float = 30.0) -> tuple[Watcher, FakeClock]:
    clock = FakeClock()
    api = Api("http://x")
    return Watcher(api, ID, timeout=timeout, max_wait=max_wait, clock=clock), clock


def test_a_quick_unchanged_answer_pauses_until_a_second_has_passed() -> None:
    w, _ = watcher()
    first = w.next_request()
    assert w.feed(first, answer("active", 1, 0), elapsed=0.01)[0] is not None
    poll = w.next_request()
    assert w.feed(poll, answer("active", 1, 0), elapsed=0.25) == (None, 0.75)
    assert w.feed(poll, httpx.Response(304), elapsed=30.0) == (None, 0.0)  # a real long-poll
    changed, pause = w.feed(poll, answer("active", 2, 1), elapsed=0.01)
    assert changed is not None and changed.current_step == 2 and pause == 0.0


def test_the_long_poll_never_outlasts_the_deadline() -> None:
    w, clock = watcher(timeout=10.0, max_wait=60.0)
    w.feed(w.next_request(), answer("active", 1, 0), elapsed=0)
    assert w.next_request().params == (("wait", "10"),)
    clock.now += 7.5
    assert w.next_request().params == (("wait", "2.5"),)
    clock.now += 2.5
    with pytest.raises(WaitTimeout):
        w.next_request()


def test_a_server_that_refuses_wait_is_polled_without_it() -> None:
    w, _ = watcher()
    w.feed(w.next_request(), answer("active", 1, 0), elapsed=0)
    poll = w.next_request()
    assert poll.long_poll == 30.0
    assert w.feed(poll, httpx.Response(400, json={"detail": "unknown parameter wait"}), 0.01)
    plain = w.next_request()
    assert plain.params == () and plain.long_poll == 0.0
    assert dict(plain.headers) == {"If-None-Match": f'W/"{ID}.0"'}


def test_the_pause_never_passes_the_deadline() -> None:
    w, clock = watcher(timeout=1.0)
    w.feed(w.next_request(), answer("active", 1, 0), elapsed=0)
    clock.now += 0.9
    _, pause = w.feed(w.next_request(), httpx.Response(304), elapsed=0.0)
    assert pause == pytest.approx(0.1)


def test_max_wait_is_capped_at_the_contracts_sixty_seconds() -> None:
    w, _ = watcher(max_wait=600)
    w.feed(w.next_request(), answer("active", 1, 0), elapsed=0)
    assert w.next_request().params == (("wait", "60"),)


def test_a_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError):
        watcher(timeout=-1)
