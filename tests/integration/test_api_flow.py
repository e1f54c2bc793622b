"""Concurrency keys over real HTTP (issue 14, points 4 and 7), on SQLite and PostgreSQL: the
key is computed from the data at create, shown in the task's details, and data without a
usable key is a 400 problem+json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Server, StartServer

REPO = Path(__file__).resolve().parents[2]
JSON = {"Accept": "application/json"}

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def live(module_server_factory: StartServer) -> Server:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return module_server_factory(
        env={"TASKTRACK_APP_MODULES": "tests.apps.flow", "PYTHONPATH": path}
    )


@pytest.fixture
def api(live: Server) -> httpx.Client:
    with live.client(headers=JSON) as client:
        yield client  # type: ignore[misc]


def create(api: httpx.Client, name: str, data: dict[str, Any]) -> httpx.Response:
    return api.post("/v2.0/tasks", json={"name": name, "data": data})


def details(api: httpx.Client, task_id: str, accept: str = "application/json") -> httpx.Response:
    return api.get(f"/v2.0/tasks/{task_id}/details", headers={"Accept": accept})


@pytest.mark.parametrize(("customer", "key"), [("acme", "acme"), (42, "42")])
def test_the_details_show_the_key_computed_at_create(
    api: httpx.Client, customer: object, key: str
) -> None:
    created = create(api, "flow.keyed", {"customer": customer, "seconds": 0})
    assert created.status_code == 201, created.text
    assert "concurrencyKey" not in created.json()  # the 13 fields stay as they are
    assert details(api, created.json()["_id"]).json()["concurrencyKey"] == key
    hal = details(api, created.json()["_id"], "application/hal+json").json()
    assert hal["concurrencyKey"] == key


def test_a_task_without_a_key_shows_null(api: httpx.Client) -> None:
    created = create(api, "flow.plain", {"customer": "acme"})
    assert details(api, created.json()["_id"]).json()["concurrencyKey"] is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"seconds": 0}, "data.customer is required"),
        ({"customer": {"id": 1}}, "must be a string or an integer"),
        ({"customer": "x" * 201}, "longer than 200 characters"),
    ],
)
def test_data_without_a_usable_key_is_a_400(
    api: httpx.Client, data: dict[str, Any], message: str
) -> None:
    reply = create(api, "flow.keyed", data)
    assert reply.status_code == 400
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert message in reply.json()["detail"], reply.json()
