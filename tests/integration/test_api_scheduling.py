"""Scheduling through a real ``tasktrack serve`` (with its in-process worker), on SQLite and
PostgreSQL (issue 14): the create options runAt, delaySeconds and priority, the details
that show them, the queue and priority list filters, and cancelling a task that waits."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tasktrack.domain.task import CONTRACT_FIELDS
from tests.integration.conftest import Server, StartServer
from tests.integration.test_api_results import JSON, worker_env

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def live(module_server_factory: StartServer) -> Server:
    return module_server_factory(env=worker_env())


@pytest.fixture
def api(live: Server) -> httpx.Client:
    with live.client(headers=JSON) as client:
        client.timeout = httpx.Timeout(60.0)
        yield client  # type: ignore[misc]


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    reply = api.post("/v2.0/tasks", json={"name": "test.noop", **body})
    assert reply.status_code == 201, reply.text
    task: dict[str, Any] = reply.json()
    return task


def details(api: httpx.Client, task_id: str) -> dict[str, Any]:
    reply = api.get(f"/v2.0/tasks/{task_id}/details")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def wait_status(api: httpx.Client, task_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        task: dict[str, Any] = api.get(f"/v2.0/tasks/{task_id}", params={"wait": 5}).json()
        if task["status"] == status or time.monotonic() > deadline:
            assert task["status"] == status, task
            return task


def unix(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_delayed_task_waits_queued_with_its_run_at_in_the_details(api: httpx.Client) -> None:
    before = time.time()
    task = create(api, delaySeconds=3600, priority=7)
    assert list(task) == list(CONTRACT_FIELDS)  # the 13 fields, nothing more
    assert task["status"] == "queued" and task["lastRunAt"] is None
    facts = details(api, task["_id"])
    assert before + 3600 <= unix(facts["runAt"]) <= time.time() + 3600
    assert (facts["priority"], facts["queue"]) == (7, "default")
    assert api.post(f"/v2.0/tasks/{task['_id']}/cancel").json()["status"] == "cancelled"


def test_run_at_takes_iso_8601_or_unix_seconds(api: httpx.Client) -> None:
    at = time.time() + 7200
    iso = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    for given in (iso, at):
        task = create(api, runAt=given)
        assert abs(unix(details(api, task["_id"])["runAt"]) - at) < 0.002, given


def test_a_cancelled_waiting_task_never_runs(api: httpx.Client) -> None:
    cancelled = create(api, delaySeconds=1.0)
    twin = create(api, delaySeconds=1.0)
    assert api.post(f"/v2.0/tasks/{cancelled['_id']}/cancel").json()["status"] == "cancelled"
    wait_status(api, twin["_id"], "done")  # its twin fell due and ran...
    after = api.get(f"/v2.0/tasks/{cancelled['_id']}").json()
    assert (after["status"], after["lastRunAt"]) == ("cancelled", None)  # ...this one did not


def test_priority_and_queue_default_to_the_task_types(api: httpx.Client) -> None:
    fast = create(api, name="test.fast")
    assert (details(api, fast["_id"])["priority"], details(api, fast["_id"])["queue"]) == (
        5,
        "fast",
    )
    plain = create(api)
    assert details(api, plain["_id"])["priority"] == 0


BAD = [
    ({"runAt": "tomorrow"}, "runAt"),
    ({"runAt": "2030-01-01T09:00:00"}, "runAt"),  # no UTC offset
    ({"runAt": 10**12}, "runAt"),  # far beyond 366 days
    ({"runAt": True}, "runAt"),
    ({"delaySeconds": -1}, "delaySeconds"),
    ({"delaySeconds": "60"}, "delaySeconds"),
    ({"runAt": 1, "delaySeconds": 1}, "runAt"),
    ({"priority": 1.5}, "priority"),
    ({"priority": 5000}, "priority"),
    ({"priority": "high"}, "priority"),
    ({"queue": "fast"}, "queue"),  # a queue is the task type's, not a create option
]


@pytest.mark.parametrize(("extra", "field"), BAD, ids=[str(b[0]) for b in BAD])
def test_bad_scheduling_options_are_a_400_naming_the_field(
    api: httpx.Client, extra: dict[str, Any], field: str
) -> None:
    reply = api.post("/v2.0/tasks", json={"name": "test.noop", **extra})
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert field in reply.json()["detail"]


def test_lists_filter_by_queue_and_priority(api: httpx.Client) -> None:
    fast = create(api, name="test.fast", delaySeconds=3600)
    urgent = create(api, priority=-321, delaySeconds=3600)
    queue = api.get("/v2.0/tasks", params={"queue": "fast", "limit": 100}).json()
    assert fast["_id"] in {t["_id"] for t in queue["items"]}
    assert {t["name"] for t in queue["items"]} == {"test.fast"}
    ranked = api.get("/v2.0/tasks", params={"priority": "[-321,-320]"}).json()
    assert [t["_id"] for t in ranked["items"]] == [urgent["_id"]]
    bad = api.get("/v2.0/tasks", params={"priority": "high"})
    assert bad.status_code == 400 and "priority" in bad.json()["detail"]


def test_the_openapi_document_describes_the_options(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    create_body = doc["components"]["schemas"]["CreateTask"]["properties"]
    assert {"runAt", "delaySeconds", "priority"} <= set(create_body)
    listed = {p["name"] for p in doc["components"]["parameters"].values()}
    assert {"queue", "priority"} <= listed


def test_scheduled_tasks_pages_through_waiting_tasks_soonest_first(live: Server) -> None:
    with live.client(headers=JSON) as api:  # a fresh organisation's view would be empty
        made = [create(api, delaySeconds=5000 + i, priority=i) for i in (3, 1, 2)]
        seen, token = [], None
        while True:
            params = {"limit": 2, **({"next": token} if token else {})}
            page = api.get("/v2.0/scheduled-tasks", params=params).json()
            seen += [item for item in page["items"] if item["runAt"] > "2000"]
            token = page["next"]
            if token is None:
                break
        mine = [item for item in seen if item["_id"] in {t["_id"] for t in made}]
        assert [item["priority"] for item in mine] == [1, 2, 3]  # soonest first
        runs = [item["runAt"] for item in seen]
        assert runs == sorted(runs)
        for name, value in (("next", "nonsense"), ("limit", "0"), ("limit", "x")):
            bad = api.get("/v2.0/scheduled-tasks", params={name: value})
            assert bad.status_code == 400 and name in bad.json()["detail"], bad.text
