"""Results, details and re-runs through a real ``tasktrack serve`` and its in-process worker,
on SQLite and PostgreSQL: what a handler returns is what ``GET /result`` shows."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tasktrack.domain.lifecycle import Status
from tests.integration.conftest import Seeder, Server, StartServer

REPO = Path(__file__).resolve().parents[2]
JSON = {"Accept": "application/json"}
TERMINAL = ("done", "error", "cancelled")

pytestmark = pytest.mark.timeout(120)


def worker_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_APP_MODULES": "tests.apps.handlers",
        "TASKTRACK_POLL_INTERVAL": "0.1",
        "PYTHONPATH": path,
    }


async def _seed(seeder: Seeder) -> dict[str, str]:
    """A task that stays queued (no worker runs its type) and one of another organisation."""
    queued = seeder.task("not.run.here")
    foreign = seeder.task("test.answer", status=Status.DONE, org_id=seeder.other_org)
    retired = seeder.task("retired.type", status=Status.ERROR, fail_reason="old")
    await seeder.add([queued, foreign, retired])
    return {"queued": queued.id, "foreign": foreign.id, "retired": retired.id}


@pytest.fixture(scope="module")
def live(module_server_factory: StartServer) -> Server:
    return module_server_factory(seed=_seed, env=worker_env())


@pytest.fixture
def api(live: Server) -> httpx.Client:
    with live.client(headers=JSON) as client:
        client.timeout = httpx.Timeout(60.0)
        yield client  # type: ignore[misc]


def run(api: httpx.Client, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create a task and wait (long-polling) until it has finished."""
    created = api.post("/v2.0/tasks", json={"name": name, "data": data or {}})
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    deadline = time.monotonic() + 60
    while task["status"] not in TERMINAL and time.monotonic() < deadline:
        task = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 20}).json()
    assert task["status"] in TERMINAL, task
    return task


@pytest.mark.parametrize("name", ["test.answer", "test.answer_async"])
def test_a_handlers_return_value_is_the_tasks_result(api: httpx.Client, name: str) -> None:
    task = run(api, name)
    assert task["status"] == "done"
    for prefix in ("/v2.0", "/new/v2.0"):
        r = api.get(f"{prefix}/tasks/{task['_id']}/result")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "taskId": task["_id"],
            "status": "done",
            "result": {"answer": 42},
            "failReason": "",
        }
    assert api.get(f"/v2.0/tasks/{task['_id']}/details").json()["hasResult"] is True


def test_results_keep_json_types(api: httpx.Client) -> None:
    value = {"n": [1, 2.5, True, None, "ü"], "nested": {"k": ""}}
    task = run(api, "test.answer", {"value": value})
    assert api.get(f"/v2.0/tasks/{task['_id']}/result").json()["result"] == value


def test_a_handler_returning_none_has_a_null_result(api: httpx.Client) -> None:
    task = run(api, "test.noop")
    assert task["status"] == "done"
    body = api.get(f"/v2.0/tasks/{task['_id']}/result").json()
    assert (body["status"], body["result"]) == ("done", None)
    assert api.get(f"/v2.0/tasks/{task['_id']}/details").json()["hasResult"] is False


def test_an_unserialisable_result_fails_the_task_with_the_reason(api: httpx.Client) -> None:
    task = run(api, "test.unserialisable")
    assert task["status"] == "error"
    assert task["failReason"].startswith("result is not JSON-serialisable: ")
    details = api.get(f"/v2.0/tasks/{task['_id']}/details").json()
    assert details["attempts"] == 2  # a handler error like any other: it was retried
    body = api.get(f"/v2.0/tasks/{task['_id']}/result").json()
    assert body == {
        "taskId": task["_id"],
        "status": "error",
        "result": None,
        "failReason": task["failReason"],
    }


def test_an_oversized_result_fails_the_task_with_its_size(api: httpx.Client) -> None:
    task = run(api, "test.oversized")
    assert task["status"] == "error"
    assert task["failReason"] == "result is 1048577 bytes, over the 1 MiB limit"


def test_an_unfinished_task_has_no_result_yet(api: httpx.Client, live: Server) -> None:
    r = api.get(f"/v2.0/tasks/{live.seeded['queued']}/result")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == 1004


def test_result_media_types(api: httpx.Client) -> None:
    task = run(api, "test.answer")
    url = f"/v2.0/tasks/{task['_id']}/result"
    hal = api.get(url, headers={"Accept": "application/hal+json"})
    assert hal.headers["content-type"] == "application/hal+json"
    assert hal.json()["_links"] == {
        "self": {"href": url},
        "task": {"href": f"/v2.0/tasks/{task['_id']}"},
    }
    xml = api.get(url, headers={"Accept": "application/xml"})
    assert xml.status_code == 200 and b"<answer>42</answer>" in xml.content
    csv = api.get(url, headers={"Accept": "text/csv"})
    assert csv.status_code == 406 and csv.json()["status"] == 406


def test_rerun_of_an_error_task_creates_a_linked_task(api: httpx.Client) -> None:
    failed = run(api, "test.fail", {"message": "flaky upstream"})
    assert failed["status"] == "error"
    r = api.post(f"/new/v2.0/tasks/{failed['_id']}/rerun")
    assert r.status_code == 201, r.text
    again = r.json()
    assert r.headers["location"] == f"/new/v2.0/tasks/{again['_id']}"
    assert again["_id"] != failed["_id"]
    assert (again["name"], again["data"], again["status"]) == (
        "test.fail",
        {"message": "flaky upstream"},
        "queued",
    )
    original = api.get(f"/v2.0/tasks/{failed['_id']}/details").json()
    assert original["reruns"] == [again["_id"]] and original["rerunOf"] is None
    linked = api.get(f"/v2.0/tasks/{again['_id']}/details").json()
    assert linked["rerunOf"] == failed["_id"] and linked["reruns"] == []
    assert api.get(f"/v2.0/tasks/{failed['_id']}").json()["status"] == "error"  # unchanged


def test_rerun_of_an_unfinished_task_is_a_conflict(api: httpx.Client, live: Server) -> None:
    r = api.post(f"/v2.0/tasks/{live.seeded['queued']}/rerun")
    assert r.status_code == 409 and r.json()["code"] == 1004


def test_another_organisations_task_is_not_found(api: httpx.Client, live: Server) -> None:
    foreign = live.seeded["foreign"]
    for method, leaf in (("GET", "result"), ("GET", "details"), ("POST", "rerun")):
        r = api.request(method, f"/v2.0/tasks/{foreign}/{leaf}")
        assert r.status_code == 404 and r.json()["code"] == 1002, (leaf, r.text)


def test_rerun_of_a_task_type_no_longer_registered_is_refused(
    api: httpx.Client, live: Server
) -> None:
    r = api.post(f"/v2.0/tasks/{live.seeded['retired']}/rerun")
    assert r.status_code == 400 and r.json()["code"] == 1005
    assert "retired.type" in r.json()["detail"]
    assert api.get(f"/v2.0/tasks/{live.seeded['retired']}/details").json()["reruns"] == []
