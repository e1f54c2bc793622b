"""The Python client against a real ``tasktrack serve`` (with its worker), over HTTP: sync and
async, every route, long-poll watching, lazy paging and every typed error."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tasktrack.client import (
    AsyncTaskTrackClient,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TaskStatus,
    TaskTrackClient,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from tasktrack.service.identity import IdentityService
from tasktrack.storage.factory import open_stores
from tests.integration.conftest import _free_port, _wait_healthy

#: A task that runs until cancelled, noticing the cancel within a tenth of a second.
FOREVER = {"seconds": 600, "steps": 6000}


@dataclass(frozen=True)
class LiveServer:
    """A running ``tasktrack serve`` with its worker on, and two API keys for it."""

    url: str
    api_key: str
    read_only_key: str


async def _keys(db_url: str) -> tuple[str, str]:
    stores = await open_stores(db_url)
    try:
        identity = IdentityService(stores.identity)
        _, user = await identity.ensure_default()
        _, key = await identity.create_api_key(user.id, label="client tests")
        _, read_only = await identity.create_api_key(user.id, read_only=True, label="read-only")
        return key, read_only
    finally:
        await stores.close()


@contextlib.contextmanager
def running_server(workdir: Path) -> Iterator[LiveServer]:
    """Start ``tasktrack serve`` with the worker on (demo tasks run); stop it afterwards."""
    db_url = f"sqlite:///{workdir.resolve()}/tasks.db"
    key, read_only = asyncio.run(_keys(db_url))
    env = {
        **os.environ,
        "TASKTRACK_DATABASE_URL": db_url,
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_CONCURRENCY": "4",
        "TASKTRACK_POLL_INTERVAL": "0.1",
        "TASKTRACK_CANCEL_GRACE": "2",
        "TASKTRACK_SHUTDOWN_TIMEOUT": "2",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TASKTRACK_APP_MODULES", None)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    command = [sys.executable, "-m", "tasktrack", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            assert _wait_healthy(process, url, log), log.read_text()
            yield LiveServer(url, key, read_only)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("client")) as server:
        yield server


class Counting(httpx.HTTPTransport):
    """Counts the requests sent, to show that watching long-polls instead of spinning."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return super().handle_request(request)


@pytest.fixture
def client(live: LiveServer) -> Iterator[TaskTrackClient]:
    with TaskTrackClient(live.url, api_key=live.api_key) as client:
        yield client


def test_create_get_and_watch_to_done(live: LiveServer) -> None:
    transport = Counting()
    with TaskTrackClient(live.url, api_key=live.api_key, transport=transport) as client:
        task = client.create("demo.sleep", {"seconds": 0.8, "steps": 4})
        assert (task.status, task.name, task.total_step) == (TaskStatus.QUEUED, "demo.sleep", 4)
        assert client.get(task.id).id == task.id
        seen = list(client.watch(task.id, timeout=30))
    steps = [t.current_step for t in seen]
    assert seen[-1].status is TaskStatus.DONE and steps[-1] == 4
    assert steps == sorted(steps) and len(set(steps)) >= 3  # it followed the steps
    assert seen[-1].last_finished_at is not None and seen[-1].last_run_at is not None
    assert transport.count <= len(seen) + 4  # one long-poll per change, not a tight loop


def test_wait_returns_the_failed_task_with_its_reason(client: TaskTrackClient) -> None:
    task = client.create("demo.fail", {"message": "quota exceeded"})
    final = client.wait(task.id, timeout=30)
    assert final.status is TaskStatus.ERROR and final.fail_reason == "quota exceeded"


def test_wait_times_out_then_cancel_ends_the_task(client: TaskTrackClient) -> None:
    task = client.create("demo.sleep", FOREVER)
    with pytest.raises(WaitTimeout) as caught:
        client.wait(task.id, timeout=0.5)
    assert caught.value.last is not None and caught.value.last.id == task.id
    cancelled = client.cancel(task.id)
    assert cancelled.status in (TaskStatus.CANCELLING, TaskStatus.CANCELLED)
    assert client.wait(task.id, timeout=30).status is TaskStatus.CANCELLED
    assert client.cancel(task.id).status is TaskStatus.CANCELLED  # asking again is harmless


def test_cancelling_a_finished_task_is_a_conflict(client: TaskTrackClient) -> None:
    task = client.wait(client.create("demo.fail", {}).id, timeout=30)
    with pytest.raises(Conflict) as conflict:
        client.cancel(task.id)
    assert (conflict.value.status, conflict.value.code) == (409, 1004)


def test_delete_removes_a_finished_task_and_refuses_a_running_one(client: TaskTrackClient) -> None:
    running = client.create("demo.sleep", FOREVER)
    with pytest.raises(Conflict) as conflict:
        client.delete(running.id)
    assert (conflict.value.status, conflict.value.code) == (409, 1004)
    client.cancel(running.id)
    client.wait(running.id, timeout=30)
    assert client.delete(running.id) is None
    with pytest.raises(NotFound):
        client.get(running.id)
    with pytest.raises(NotFound):
        client.delete(running.id)


def test_list_walks_every_page_lazily(live: LiveServer) -> None:
    transport = Counting()
    with TaskTrackClient(live.url, api_key=live.api_key, transport=transport) as client:
        for _ in range(5):
            client.create("demo.fail", {})
        total = client.list_page(limit=1).total
        transport.count = 0
        ids = [t.id for t in client.list(page_size=2)]
        assert len(ids) == len(set(ids)) == total >= 5
        assert transport.count == -(-total // 2)  # one request per page of two
        failed = client.list(name="demo.fail", page_size=100)
        assert all(t.name == "demo.fail" for t in failed)


def test_the_new_prefix_serves_the_same_tasks(live: LiveServer, client: TaskTrackClient) -> None:
    task = client.create("demo.fail", {})
    with TaskTrackClient(live.url, api_key=live.api_key, base_path="/new/v2.0") as other:
        assert other.get(task.id).id == task.id


def test_not_found_and_bad_request_carry_code_and_trace_id(client: TaskTrackClient) -> None:
    with pytest.raises(NotFound) as missing:
        client.get("0" * 24)
    assert (missing.value.status, missing.value.code) == (404, 1002)
    assert missing.value.trace_id and "not found" in missing.value.detail.lower()
    with pytest.raises(BadRequest) as malformed:
        client.get("not-an-id")
    assert (malformed.value.status, malformed.value.code) == (400, 1005)
    with pytest.raises(BadRequest, match=r"demo\.nope"):
        client.create("demo.nope")
    with pytest.raises(BadRequest, match="limit"):
        client.list_page(limit=1000)


def test_credentials_are_checked(live: LiveServer) -> None:
    with TaskTrackClient(live.url, api_key="tt_wrong") as wrong, pytest.raises(Unauthorized):
        wrong.list_page()
    with TaskTrackClient(live.url, token="not-a-token") as bearer, pytest.raises(Unauthorized):
        bearer.list_page()
    with TaskTrackClient(live.url, api_key=live.read_only_key) as reader:
        assert reader.list_page(limit=1).total >= 0
        with pytest.raises(Forbidden) as forbidden:
            reader.create("demo.fail")
    assert forbidden.value.status == 403


def test_an_unreachable_server_is_a_transport_error() -> None:
    with TaskTrackClient(f"http://127.0.0.1:{_free_port()}") as client:
        with pytest.raises(TransportError, match="cannot connect"):
            client.get("0" * 24)


async def test_async_client_does_the_same(live: LiveServer) -> None:
    async with AsyncTaskTrackClient(live.url, api_key=live.api_key) as client:
        task = await client.create("demo.sleep", {"seconds": 0.6, "steps": 3})
        assert (await client.get(task.id)).id == task.id
        seen = [t async for t in client.watch(task.id, timeout=30)]
        assert seen[-1].status is TaskStatus.DONE and seen[-1].current_step == 3
        ids = [t.id async for t in client.list(page_size=3)]
        assert task.id in ids and len(ids) == len(set(ids))
        long = await client.create("demo.sleep", FOREVER)
        with pytest.raises(WaitTimeout):
            await client.wait(long.id, timeout=0.3)
        await client.cancel(long.id)
        assert (await client.wait(long.id, timeout=30)).status is TaskStatus.CANCELLED
        with pytest.raises(NotFound):
            await client.get("0" * 24)
        with pytest.raises(Conflict):
            await client.cancel(task.id)  # done
        await client.delete(task.id)
        with pytest.raises(NotFound):
            await client.delete(task.id)
