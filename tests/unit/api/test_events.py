"""The dashboard's change stream: the per-connection ChangeFeed, the SSE framing, the endpoint
(authentication, organisation scope, resume points) and the shutdown signal it watches."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tasktrack.api.changes import MAX_PAGES, PAGE_SIZE, SLACK, ChangeFeed
from tasktrack.api.context import ApiContext
from tasktrack.api.ratelimit import FailedAuthLimiter
from tasktrack.api.routes import events
from tasktrack.api.routes.events import event_routes
from tasktrack.api.security import Authenticator
from tasktrack.api.shutdown import uvicorn_exiting
from tasktrack.config import Settings
from tasktrack.demo import registry
from tasktrack.domain.identity import Principal
from tasktrack.domain.listing import Scope
from tasktrack.service.identity import IdentityService
from tasktrack.service.oauth import OAuthService
from tasktrack.service.overview import OverviewService
from tasktrack.service.tasks import TaskService
from tasktrack.service.workers import WorkerService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores

FIELDS = [
    "name", "data", "status", "currentStep", "totalStep", "failReason", "lastRunAt",
    "lastFinishedAt", "_id", "createdAt", "lastChanged", "createdBy", "lastChangedBy",
]  # fmt: skip
OTHER = Principal("0e" * 12, "0f" * 12)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    stores: Stores
    ctx: ApiContext
    principal: Principal
    key: str
    clock: Clock

    def feed(self, since: int | None = None) -> ChangeFeed:
        start = int(self.clock()) if since is None else since
        return ChangeFeed(
            self.ctx.tasks, self.principal, Scope(self.principal.org_id), start, self.clock
        )

    async def create(self, principal: Principal | None = None) -> Any:
        data = {"seconds": 1, "steps": 4}
        return await self.ctx.tasks.create(principal or self.principal, "demo.sleep", data)

    async def progress(self, task_id: str, step: int) -> None:
        store = self.stores.tasks
        task = await store.get(task_id)
        assert task is not None
        if task.status.value == "queued":
            [task] = await store.claim("w", ["demo.sleep"], 1, 30, self.clock())
        await store.record_progress(task_id, task.attempts, step, 4, self.clock())


async def _world(clock: Clock, url: str = "memory://") -> AsyncIterator[World]:
    stores = await open_stores(url)
    identity = IdentityService(stores.identity)
    org, user = await identity.ensure_default()
    _, key = await identity.create_api_key(user.id, label="unit")
    ctx = ApiContext(
        settings=Settings(database_url="memory://"),
        stores=stores,
        tasks=TaskService(stores.tasks, registry, clock),
        identity=identity,
        authenticator=Authenticator(identity),
        oauth=await OAuthService.open(stores.identity),
        limiter=FailedAuthLimiter(),
        workers=WorkerService(stores.workers),
        overview=OverviewService(stores.stats),
    )
    try:
        yield World(stores, ctx, Principal(user.id, org.id), key, clock)
    finally:
        await stores.close()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async for w in _world(Clock()):
        yield w


@pytest.fixture
async def live_world() -> AsyncIterator[World]:
    """A world on the real clock, for the endpoint (its resume points are real times)."""
    async for w in _world(time.time):  # type: ignore[arg-type]
        yield w


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_feed_reports_changes_after_2038(backend: str, tmp_path: Path) -> None:
    # lastChanged passes 2^31-1 on 2038-01-19; a window capped there would stay empty.
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path}/feed.db"
    async for world in _world(Clock(2_200_000_000.0), url):  # 2039-09-18
        feed = world.feed()
        assert await feed.poll() == ([], True)
        task = await world.create()
        changed, complete = await feed.poll()
        assert [t.id for t in changed] == [task.id] and complete


async def test_feed_reports_each_change_once_even_within_one_second(world: World) -> None:
    feed = world.feed()
    assert await feed.poll() == ([], True)
    task = await world.create()
    changed, complete = await feed.poll()
    assert [t.id for t in changed] == [task.id] and complete
    assert await feed.poll() == ([], True)  # same lastChanged second, same version: once
    await world.progress(task.id, 1)  # still the same second: found by its version
    changed, _ = await feed.poll()
    assert [(t.id, t.current_step) for t in changed] == [(task.id, 1)]
    world.clock.now += 30
    assert await feed.poll() == ([], True)
    await world.progress(task.id, 2)
    changed, _ = await feed.poll()
    assert [(t.status.value, t.current_step) for t in changed] == [("active", 2)]


async def test_feed_never_shows_another_organisations_tasks(world: World) -> None:
    feed = world.feed()
    await world.create(OTHER)
    mine = await world.create()
    changed, _ = await feed.poll()
    assert [t.id for t in changed] == [mine.id]


async def test_feed_reads_pages_and_says_when_a_poll_was_truncated(world: World) -> None:
    feed = world.feed()
    for _ in range(PAGE_SIZE + 20):
        await world.create()
    changed, complete = await feed.poll()
    assert len({t.id for t in changed}) == PAGE_SIZE + 20 and complete
    for _ in range(PAGE_SIZE * MAX_PAGES):
        await world.create()
    changed, complete = await feed.poll()
    assert not complete and 0 < len(changed) <= PAGE_SIZE * MAX_PAGES  # the client reloads


async def test_feed_window_starts_slack_before_the_previous_poll_and_forgets_the_rest(
    world: World,
) -> None:
    old = await world.create()
    world.clock.now += SLACK + 1
    fresh = world.feed()
    assert await fresh.poll() == ([], True)  # changed before the window
    resumed = world.feed(since=int(world.clock()) - SLACK - 1)
    changed, _ = await resumed.poll()
    assert [t.id for t in changed] == [old.id]  # a resume point just before the change
    world.clock.now += 60
    await resumed.poll()
    assert resumed._seen == {}  # nothing kept once it is out of the window


async def _collect(stream: AsyncIterator[bytes]) -> list[tuple[str, Any]]:
    out = []
    async for chunk in stream:
        for block in chunk.decode().split("\n\n"):
            if block:
                lines = dict(line.split(": ", 1) for line in block.splitlines())
                out.append((lines["event"], json.loads(lines["data"])))
    return out


async def test_stream_frames_ready_tasks_ticks_and_bye(world: World) -> None:
    feed = world.feed()
    stream = events._stream(feed, False, 0.001, 60, lambda: False)
    assert (
        await anext(stream)
        == (
            f'event: ready\nid: {feed.cursor}\ndata: {{"resumed":false,"interval":0.001}}\n\n'
        ).encode()
    )
    task = await world.create()
    chunk = (await anext(stream)).decode()
    assert chunk.startswith("event: task\ndata: ")
    body = json.loads(chunk.split("\n")[1].removeprefix("data: "))
    assert list(body) == FIELDS and body["_id"] == task.id and body["status"] == "queued"
    assert chunk.endswith(f"event: tick\nid: {feed.cursor}\ndata: {{}}\n\n")
    await stream.aclose()


async def test_stream_ends_with_bye_when_the_server_exits(world: World) -> None:
    calls = []

    def exiting() -> bool:
        calls.append(1)
        return len(calls) > 2

    started = time.monotonic()
    got = await _collect(events._stream(world.feed(), False, 0.01, 60, exiting))
    assert [kind for kind, _ in got] == ["ready", "bye"]
    assert time.monotonic() - started < 1


async def test_stream_ends_with_bye_after_its_lifetime_and_sends_keepalives(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "KEEPALIVE", 0.0)
    got = await _collect(events._stream(world.feed(), True, 0.01, 0.1, lambda: False))
    kinds = [kind for kind, _ in got]
    assert kinds[0] == "ready" and got[0][1]["resumed"] is True
    assert "tick" in kinds and kinds[-1] == "bye"


async def test_stream_failure_is_logged_and_ends_with_bye(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    feed = world.feed()

    async def broken() -> Any:
        raise RuntimeError("database went away")

    feed.poll = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, "tasktrack.web"):
        got = await _collect(events._stream(feed, True, 0.001, 60, lambda: False))
    assert [kind for kind, _ in got] == ["ready", "bye"]
    assert "event stream failed" in caplog.text


def _client(world: World, lifetime: float = 0.05) -> httpx.AsyncClient:
    app = Starlette(routes=event_routes(("/v2.0", "/new/v2.0"), interval=0.01, lifetime=lifetime))
    app.state.ctx = world.ctx
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_events_endpoint_needs_credentials(live_world: World) -> None:
    async with _client(live_world) as client:
        response = await client.get("/v2.0/events")
        bad = await client.get("/v2.0/events", headers={"X-API-Key": "nope"})
    assert response.status_code == 401 == bad.status_code
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == 401


@pytest.mark.parametrize("prefix", ["/v2.0", "/new/v2.0"])
async def test_events_endpoint_streams_ready_then_bye(live_world: World, prefix: str) -> None:
    async with _client(live_world) as client:
        response = await client.get(f"{prefix}/events", headers={"X-API-Key": live_world.key})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert text.startswith("event: ready\nid: ") and '"resumed":false' in text
    assert text.endswith("data: {}\n\n") and "event: bye" in text


async def test_events_endpoint_resumes_from_a_recent_point_only(live_world: World) -> None:
    task = await live_world.create()
    headers = {"X-API-Key": live_world.key}
    now = int(time.time())
    async with _client(live_world) as client:
        resumed = await client.get(f"/v2.0/events?since={now - 5}", headers=headers)
        stale = await client.get(f"/v2.0/events?since={now - 3600}", headers=headers)
        bad = await client.get("/v2.0/events?since=yesterday", headers=headers)
        future = await client.get(f"/v2.0/events?since={now + 600}", headers=headers)
    assert '"resumed":true' in resumed.text and task.id in resumed.text
    assert '"resumed":false' in stale.text and task.id not in stale.text
    assert bad.status_code == 400 == future.status_code


async def test_events_endpoint_is_scoped_to_the_callers_organisation(
    live_world: World,
) -> None:
    theirs = await live_world.create(OTHER)
    mine = await live_world.create()
    since = int(time.time()) - 5
    async with _client(live_world) as client:
        response = await client.get(
            f"/v2.0/events?since={since}", headers={"X-API-Key": live_world.key}
        )
    assert mine.id in response.text and theirs.id not in response.text


async def test_events_endpoint_rejects_a_malformed_project(live_world: World) -> None:
    async with _client(live_world) as client:
        response = await client.get(
            "/v2.0/events?projectId=nope", headers={"X-API-Key": live_world.key}
        )
    assert response.status_code == 400


class _FakeUvicorn:
    should_exit = False

    def handle_exit(self, sig: int, frame: object) -> None:
        self.should_exit = True


def test_uvicorn_exiting_reads_the_flag_behind_uvicorns_signal_handler() -> None:
    server = _FakeUvicorn()
    previous = signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        assert uvicorn_exiting() is False
        server.should_exit = True
        assert uvicorn_exiting() is True
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert uvicorn_exiting() is False  # any other handler: never "exiting"


async def test_a_stream_waits_no_longer_than_one_interval_for_a_shutdown(world: World) -> None:
    flag = asyncio.Event()
    stream = events._stream(world.feed(), False, 0.05, 60, flag.is_set)
    await anext(stream)
    flag.set()
    started = time.monotonic()
    rest = [chunk async for chunk in stream]
    assert rest and rest[-1].startswith(b"event: bye")
    assert time.monotonic() - started < 0.5
