"""Periodic schedules as a user sees them, through a real ``tasktrack serve`` with its worker
on SQLite and PostgreSQL: ``GET /v2.0/schedules``, ``tasktrack schedules list``, and the
``tasks submit`` key options (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Server, StartServer

REPO = Path(__file__).resolve().parents[2]
JSON = {"Accept": "application/json"}
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def live(module_server_factory: StartServer) -> Server:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_APP_MODULES": "tests.apps.periodic",
        "TASKTRACK_POLL_INTERVAL": "0.1",
        "PYTHONPATH": path,
    }
    return module_server_factory(env=env)


def _schedules_once_run(api: httpx.Client) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        (item,) = api.get("/v2.0/schedules").json()["items"]
        if item["lastRun"] is not None or time.monotonic() > deadline:
            return dict(item)
        time.sleep(0.2)  # polling the server with a deadline: the slot comes within 1 s


def test_the_schedules_list_shows_next_and_last_run(live: Server) -> None:
    with live.client(headers=JSON) as api:
        item = _schedules_once_run(api)
        assert (item["key"], item["task"], item["cron"]) == (
            "test.every_second",
            "test.every_second",
            "* * * * * *",
        )
        assert item["lastRun"] is not None
        next_run = datetime.fromisoformat(str(item["nextRun"]))
        assert next_run > datetime.fromisoformat(str(item["lastRun"]))
        task = api.get(f"/v2.0/tasks/{item['lastTaskId']}").json()
        assert task["name"] == "test.every_second"
        assert task["data"]["scheduledFor"] == item["lastRun"]
        hal = api.get("/v2.0/schedules", headers={"Accept": "application/hal+json"})
        assert hal.json()["_links"]["self"]["href"] == "/v2.0/schedules"
        assert api.get("/v2.0/schedules", headers={"Accept": "text/csv"}).status_code == 406


def test_schedules_are_not_shown_to_another_organisation(live: Server) -> None:
    from tasktrack.service.identity import IdentityService
    from tasktrack.storage.base import Stores

    async def other_key(stores: Stores) -> str:
        identity = IdentityService(stores.identity)
        org = await identity.create_organisation("someone-else")
        user = await identity.create_user(org.id, "else@example.invalid")
        return (await identity.create_api_key(user.id))[1]

    key = live.write(other_key)
    with live.client(headers={**JSON, "X-API-Key": key}) as other:
        assert other.get("/v2.0/schedules").json() == {"items": [], "total": 0}


def _cli(live: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASKTRACK_URL": live.base_url, "TASKTRACK_API_KEY": live.api_key}
    env.pop("TASKTRACK_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_lists_schedules(live: Server) -> None:
    with live.client(headers=JSON) as api:
        _schedules_once_run(api)
    listed = _cli(live, "schedules", "list")
    assert listed.returncode == 0, listed.stderr
    assert "test.every_second" in listed.stdout and "* * * * * *" in listed.stdout


def test_the_cli_submits_with_keys(live: Server) -> None:
    first = _cli(live, "tasks", "submit", "test.every_second", "--idempotency-key", "cli-k1")
    again = _cli(live, "tasks", "submit", "test.every_second", "--idempotency-key", "cli-k1")
    assert first.returncode == again.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    clash = _cli(
        live,
        "tasks",
        "submit",
        "test.every_second",
        "--data",
        '{"a": 1}',
        "--idempotency-key",
        "cli-k1",
    )
    assert clash.returncode != 0 and "Idempotency-Key" in clash.stderr
    assert "Traceback" not in clash.stderr and len(clash.stderr.strip().splitlines()) == 1
    bad = _cli(live, "tasks", "submit", "test.every_second", "--unique-key", "")
    assert bad.returncode != 0 and "uniqueKey" in bad.stderr
