"""The worker registry through the real server and real worker processes, on SQLite and
PostgreSQL (issue 16): ``GET /v2.0/workers`` lists live, stopped and dead workers; a create
whose type no live worker serves carries ``X-Tasktrack-Warning`` (and the same body); an
organisation sees other organisations' running attempts counted, never named."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tasktrack.domain.workers import RunningAttempt, WorkerInfo
from tasktrack.storage.base import Stores
from tests.helpers import wait_sync
from tests.integration.conftest import OTHER_ORG, Server, StartServer
from tests.integration.worker_procs import REPO, WorkerProcess

HANDLERS = "tests.apps.handlers"
ENV = {
    "TASKTRACK_APP_MODULES": HANDLERS,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
}
#: Fast heartbeats, so that a killed worker is dead (3 missed beats) within a second.
FAST = {"TASKTRACK_HEARTBEAT_INTERVAL": "0.2"}
WARNING = "X-Tasktrack-Warning"


@pytest.fixture(scope="module")
def shared(module_server_factory: StartServer) -> Server:
    return module_server_factory(env=ENV)


def _workers(server: Server, query: str = "") -> dict[str, Any]:
    with server.client() as client:
        response = client.get(f"/v2.0/workers{query}", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _create(server: Server, name: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/v2.0/tasks", json={"name": name, "data": {}})


def _worker(server: Server, tmp_path: Path, name: str) -> WorkerProcess:
    return WorkerProcess(server.db_url, tmp_path / f"{name}.log", **FAST)


def _by_pid(server: Server, pid: int) -> dict[str, Any] | None:
    return next((w for w in _workers(server)["items"] if w["pid"] == pid), None)


def test_a_create_no_live_worker_serves_warns_in_a_header_and_keeps_the_body(
    shared: Server,
) -> None:
    response = _create(shared, "test.noop")
    assert response.status_code == 201
    assert response.headers[WARNING].startswith("no-live-worker: ")
    task = response.json()
    assert task["status"] == "queued" and "warning" not in str(task).lower()
    assert len(set(task) - {"_links"}) == 13


def test_a_live_worker_is_listed_and_silences_the_warning_until_it_stops(
    shared: Server, tmp_path: Path
) -> None:
    proc = _worker(shared, tmp_path, "w1")
    try:
        row = wait_sync(
            lambda: _by_pid(shared, proc.pid),
            lambda w: w is not None and w["state"] == "live",
            timeout=30,
            what="the worker registered",
        )
        assert row is not None
        assert "test.noop" in row["taskTypes"] and row["queues"] == ["default"]
        assert row["concurrency"] >= 1 and row["host"] and row["stoppedAt"] is None
        assert "test.noop" in _workers(shared)["liveTaskTypes"]
        # The live-type set is cached for two seconds: the warning goes within that.
        wait_sync(
            lambda: _create(shared, "test.noop"),
            lambda r: r.status_code == 201 and WARNING not in r.headers,
            timeout=10,
            what="a create without the warning",
        )
    finally:
        assert proc.stop() == 0
    stopped = _by_pid(shared, proc.pid)
    assert stopped is not None and stopped["state"] == "stopped" and stopped["stoppedAt"]
    assert proc.pid not in [w["pid"] for w in _workers(shared, "?state=live")["items"]]


def test_a_killed_worker_is_listed_dead_after_three_missed_heartbeats(
    shared: Server, tmp_path: Path
) -> None:
    proc = _worker(shared, tmp_path, "w2")
    try:
        wait_sync(
            lambda: _by_pid(shared, proc.pid),
            lambda w: w is not None and w["state"] == "live",
            timeout=30,
            what="the worker registered",
        )
        proc.signal(signal.SIGKILL)
        dead = wait_sync(
            lambda: _by_pid(shared, proc.pid),
            lambda w: w is not None and w["state"] == "dead",
            timeout=10,
            what="the worker listed dead",
        )
        assert dead is not None and dead["stoppedAt"] is None
        assert proc.pid in [w["pid"] for w in _workers(shared, "?state=dead")["items"]]
    finally:
        proc.kill_tree()
        proc.stop()


def test_other_organisations_running_attempts_are_counted_not_named(shared: Server) -> None:
    mine = RunningAttempt("1a" * 12, 1, shared.org_id, "test.noop", 1_700_000_000.0)
    theirs = RunningAttempt("2b" * 12, 3, OTHER_ORG, "test.noop", 1_700_000_000.0)

    async def register(stores: Stores) -> None:
        import time

        info = WorkerInfo(
            "shared-host:1:abcdef", "shared-host", 1, time.time(), time.time(), 3600.0,
            ("test.noop",), ("default",), 2, (mine, theirs),
        )  # fmt: skip
        await stores.workers.heartbeat(info, forget_before=0)

    shared.write(register)
    row = next(w for w in _workers(shared)["items"] if w["id"] == "shared-host:1:abcdef")
    assert row["running"] == 2
    assert [a["taskId"] for a in row["runningAttempts"]] == [mine.task_id]
    assert row["runningAttempts"][0]["attempt"] == 1


@pytest.mark.parametrize("query", ["?state=asleep", "?state=live,zombie"])
def test_a_bad_state_filter_is_a_problem(shared: Server, query: str) -> None:
    with shared.client() as client:
        response = client.get(f"/v2.0/workers{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_workers_need_a_credential_and_serve_hal_and_xml(shared: Server) -> None:
    with shared.client(auth=False) as client:
        assert client.get("/v2.0/workers").status_code == 401
    with shared.client() as client:
        hal = client.get("/new/v2.0/workers", headers={"Accept": "application/hal+json"})
        xml = client.get("/v2.0/workers", headers={"Accept": "application/xml"})
        csv = client.get("/v2.0/workers", headers={"Accept": "text/csv"})
    assert hal.json()["_links"]["self"]["href"] == "/new/v2.0/workers"
    assert xml.text.startswith("<?xml") and "<workers>" in xml.text
    assert csv.status_code == 406
