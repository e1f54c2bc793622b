"""Tenant isolation over real HTTP: two organisations, every credential
type, every route.

Another organisation's task must look exactly like a missing one (404, same body), never show
up in a list, and never be cancelled; ``projectId`` narrows within an organisation. Read-only
credentials read and list but cannot create, cancel or delete (403).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.auth_server import (
    AuthServer,
    Tenant,
    client_login,
    password_login,
    prepare,
    start,
    stop,
)

ORGS = ["alpha", "beta"]
#: Every way to present a credential, including both OAuth grants behind a bearer token.
KINDS = ["header", "query", "bearer", "bearer_client"]
PREFIX = "/v2.0"
PROJECT = "c0" * 12
JSON = {"Accept": "application/json"}


class World:
    def __init__(self, server: AuthServer, tenants: dict[str, Tenant]) -> None:
        self.server = server
        self.tenants = tenants
        self.http = server.client()
        self.bearer: dict[tuple[str, str], str] = {}
        for name, tenant in tenants.items():
            self.bearer[name, "bearer"] = password_login(self.http, tenant)["access_token"]
            login = client_login(self.http, tenant.client_id, tenant.client_secret)
            self.bearer[name, "bearer_client"] = login["access_token"]
            ro = client_login(self.http, tenant.read_only_client_id, tenant.read_only_client_secret)
            self.bearer[name, "read_only_bearer"] = ro["access_token"]
        #: Each organisation's own tasks, made with its header key: one plain, one in PROJECT.
        self.tasks = {name: self.create(name, "header").json()["_id"] for name in tenants}
        self.project_tasks = {
            name: self.create(name, "header", project=PROJECT).json()["_id"] for name in tenants
        }

    def auth(self, org: str, kind: str) -> dict[str, Any]:
        """httpx keyword arguments that authenticate as ``org`` by ``kind``."""
        tenant = self.tenants[org]
        if kind == "header":
            return {"headers": {**JSON, "X-API-Key": tenant.api_key}}
        if kind == "query":
            return {"headers": JSON, "params": {"api_key": tenant.api_key}}
        if kind == "read_only_header":
            return {"headers": {**JSON, "X-API-Key": tenant.read_only_key}}
        if kind == "read_only_query":
            return {"headers": JSON, "params": {"api_key": tenant.read_only_key}}
        return {"headers": {**JSON, "Authorization": f"Bearer {self.bearer[org, kind]}"}}

    def request(
        self, method: str, path: str, org: str, kind: str, params: dict[str, str] | None = None
    ) -> httpx.Response:
        kwargs = self.auth(org, kind)
        kwargs["params"] = {**kwargs.get("params", {}), **(params or {})}
        return self.http.request(method, PREFIX + path, **kwargs)

    def create(self, org: str, kind: str, project: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"name": "demo.sleep", "data": {"seconds": 1}}
        if project:
            body["projectId"] = project
        kwargs = self.auth(org, kind)
        return self.http.post(f"{PREFIX}/tasks", json=body, **kwargs)

    def other(self, org: str) -> str:
        return next(name for name in self.tenants if name != org)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("tenants")
    db_url = f"sqlite:///{(workdir / 'auth.db').resolve()}"
    tenants = prepare(db_url, ORGS)
    # The 401 checks below fail authentication more often than the limiter allows one
    # address; the limiter has its own tests (test_auth_ratelimit.py).
    server = start(workdir, {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}, db_url=db_url)
    try:
        built = World(server, tenants)
        yield built
        built.http.close()
    finally:
        stop(server)


def comparable(response: httpx.Response, task_id: str) -> dict[str, Any]:
    """A problem body with the per-request parts (trace id, the id asked for) blanked."""
    body: dict[str, Any] = response.json()
    body.pop("traceId")
    return {k: re.sub(task_id, "<id>", v) if isinstance(v, str) else v for k, v in body.items()}


matrix = pytest.mark.parametrize(("org", "kind"), [(o, k) for o in ORGS for k in KINDS])


@matrix
def test_get_one_sees_own_tasks_and_foreign_ones_as_missing(
    world: World, org: str, kind: str
) -> None:
    own = world.request("GET", f"/tasks/{world.tasks[org]}", org, kind)
    assert own.status_code == 200, own.text
    foreign_id = world.tasks[world.other(org)]
    foreign = world.request("GET", f"/tasks/{foreign_id}", org, kind)
    missing_id = "0" * 23 + "1"
    missing = world.request("GET", f"/tasks/{missing_id}", org, kind)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    assert comparable(foreign, foreign_id) == comparable(missing, missing_id)
    assert foreign.json()["code"] == 1002


@matrix
def test_list_holds_only_own_tasks(world: World, org: str, kind: str) -> None:
    response = world.request("GET", "/tasks", org, kind, {"limit": "100"})
    assert response.status_code == 200, response.text
    ids = {item["_id"] for item in response.json()["items"]}
    assert {world.tasks[org], world.project_tasks[org]} <= ids
    other = world.other(org)
    assert not ids & {world.tasks[other], world.project_tasks[other]}
    for item in response.json()["items"]:
        assert world.request("GET", f"/tasks/{item['_id']}", org, kind).status_code == 200


@matrix
def test_project_id_narrows_within_the_organisation(world: World, org: str, kind: str) -> None:
    listed = world.request("GET", "/tasks", org, kind, {"projectId": PROJECT, "limit": "100"})
    assert listed.status_code == 200, listed.text
    assert [item["_id"] for item in listed.json()["items"]] == [world.project_tasks[org]]
    outside = world.request("GET", f"/tasks/{world.tasks[org]}", org, kind, {"projectId": PROJECT})
    assert outside.status_code == 404
    foreign = world.project_tasks[world.other(org)]
    in_other_org = world.request("GET", f"/tasks/{foreign}", org, kind, {"projectId": PROJECT})
    assert in_other_org.status_code == 404


@matrix
def test_create_belongs_to_the_callers_organisation(world: World, org: str, kind: str) -> None:
    created = world.create(org, kind)
    assert created.status_code == 201, created.text
    task_id = created.json()["_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", created.json()["createdBy"])
    assert world.request("GET", f"/tasks/{task_id}", org, kind).status_code == 200
    other = world.other(org)
    assert world.request("GET", f"/tasks/{task_id}", other, kind).status_code == 404
    listed = world.request("GET", "/tasks", other, kind, {"limit": "100"}).json()["items"]
    assert task_id not in {item["_id"] for item in listed}


@matrix
def test_cancel_cannot_touch_foreign_tasks(world: World, org: str, kind: str) -> None:
    other = world.other(org)
    victim = world.create(other, "header").json()["_id"]
    attempt = world.request("POST", f"/tasks/{victim}/cancel", org, kind)
    missing_id = "0" * 23 + "2"
    missing = world.request("POST", f"/tasks/{missing_id}/cancel", org, kind)
    assert attempt.status_code == missing.status_code == 404
    assert comparable(attempt, victim) == comparable(missing, missing_id)
    still = world.request("GET", f"/tasks/{victim}", other, "header")
    assert still.json()["status"] == "queued"
    own = world.create(org, "header").json()["_id"]
    cancelled = world.request("POST", f"/tasks/{own}/cancel", org, kind)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"


@matrix
def test_delete_cannot_touch_foreign_tasks(world: World, org: str, kind: str) -> None:
    other = world.other(org)
    victim = world.create(other, "header").json()["_id"]
    world.request("POST", f"/tasks/{victim}/cancel", other, "header")  # finished: deletable
    attempt = world.request("DELETE", f"/tasks/{victim}", org, kind)
    missing_id = "0" * 23 + "3"
    missing = world.request("DELETE", f"/tasks/{missing_id}", org, kind)
    assert attempt.status_code == missing.status_code == 404
    assert comparable(attempt, victim) == comparable(missing, missing_id)
    assert world.request("GET", f"/tasks/{victim}", other, "header").status_code == 200
    own = world.create(org, "header").json()["_id"]
    unfinished = world.request("DELETE", f"/tasks/{own}", org, kind)
    assert unfinished.status_code == 409, unfinished.text
    assert unfinished.json()["code"] == 1004
    world.request("POST", f"/tasks/{own}/cancel", org, "header")
    deleted = world.request("DELETE", f"/tasks/{own}", org, kind)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert world.request("GET", f"/tasks/{own}", org, "header").status_code == 404


@pytest.mark.parametrize("kind", ["read_only_header", "read_only_query", "read_only_bearer"])
def test_read_only_credentials_read_but_cannot_write(world: World, kind: str) -> None:
    org = ORGS[0]
    assert world.request("GET", f"/tasks/{world.tasks[org]}", org, kind).status_code == 200
    assert world.request("GET", "/tasks", org, kind).status_code == 200
    denied = [
        world.create(org, kind),
        world.request("POST", f"/tasks/{world.tasks[org]}/cancel", org, kind),
        world.request("DELETE", f"/tasks/{world.tasks[org]}", org, kind),
    ]
    for response in denied:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == 403
    still = world.request("GET", f"/tasks/{world.tasks[org]}", org, "header")
    assert still.json()["status"] == "queued"


@pytest.mark.parametrize(
    "route", ["get", "list", "create", "cancel", "result", "details", "rerun", "delete"]
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "tt_nope"}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}],
    ids=["none", "bad-key", "bad-bearer", "other-scheme"],
)
def test_every_route_needs_credentials(world: World, route: str, headers: dict[str, str]) -> None:
    task = world.tasks[ORGS[0]]
    method, path = {
        "get": ("GET", f"/tasks/{task}"),
        "list": ("GET", "/tasks"),
        "create": ("POST", "/tasks"),
        "cancel": ("POST", f"/tasks/{task}/cancel"),
        "result": ("GET", f"/tasks/{task}/result"),
        "details": ("GET", f"/tasks/{task}/details"),
        "rerun": ("POST", f"/tasks/{task}/rerun"),
        "delete": ("DELETE", f"/tasks/{task}"),
    }[route]
    response = world.http.request(
        method, PREFIX + path, headers={**JSON, **headers}, json={"name": "demo.sleep"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == 401


# -- results, details, re-runs (issue 13) ---------------------------------------------------

_BESIDE = [("GET", "result"), ("GET", "details"), ("POST", "rerun")]


def finished(world: World, org: str) -> str:
    """A new task of ``org``, cancelled while queued: finished, so it has a result and may be
    re-run."""
    task_id: str = world.create(org, "header").json()["_id"]
    world.request("POST", f"/tasks/{task_id}/cancel", org, "header")
    return task_id


@matrix
@pytest.mark.parametrize(("method", "leaf"), _BESIDE)
def test_results_details_and_reruns_of_foreign_tasks_look_missing(
    world: World, org: str, kind: str, method: str, leaf: str
) -> None:
    victim = finished(world, world.other(org))
    foreign = world.request(method, f"/tasks/{victim}/{leaf}", org, kind)
    missing_id = "0" * 23 + "3"
    missing = world.request(method, f"/tasks/{missing_id}/{leaf}", org, kind)
    assert foreign.status_code == missing.status_code == 404
    assert comparable(foreign, victim) == comparable(missing, missing_id)
    details = world.request("GET", f"/tasks/{victim}/details", world.other(org), "header")
    assert details.json()["reruns"] == []


@matrix
def test_a_rerun_belongs_to_the_callers_organisation(world: World, org: str, kind: str) -> None:
    original = finished(world, org)
    assert world.request("GET", f"/tasks/{original}/result", org, kind).json()["status"] == (
        "cancelled"
    )
    rerun = world.request("POST", f"/tasks/{original}/rerun", org, kind)
    assert rerun.status_code == 201, rerun.text
    new_id = rerun.json()["_id"]
    assert world.request("GET", f"/tasks/{new_id}/details", org, kind).json()["rerunOf"] == (
        original
    )
    assert world.request("GET", f"/tasks/{new_id}", world.other(org), kind).status_code == 404


@pytest.mark.parametrize("kind", ["read_only_header", "read_only_query", "read_only_bearer"])
def test_read_only_credentials_read_results_but_cannot_rerun(world: World, kind: str) -> None:
    org = ORGS[0]
    original = finished(world, org)
    for leaf in ("result", "details"):
        assert world.request("GET", f"/tasks/{original}/{leaf}", org, kind).status_code == 200
    denied = world.request("POST", f"/tasks/{original}/rerun", org, kind)
    assert denied.status_code == 403 and denied.json()["code"] == 403
    details = world.request("GET", f"/tasks/{original}/details", org, "header").json()
    assert details["reruns"] == []


@matrix
def test_attempts_see_own_tasks_and_foreign_ones_as_missing(
    world: World, org: str, kind: str
) -> None:
    """Issue 13: another organisation's task's attempts are a 404 identical to a missing one."""
    own = world.request("GET", f"/tasks/{world.tasks[org]}/attempts", org, kind)
    assert own.status_code == 200, own.text
    assert own.json() == {"items": [], "total": 0}
    foreign_id = world.tasks[world.other(org)]
    foreign = world.request("GET", f"/tasks/{foreign_id}/attempts", org, kind)
    missing_id = "0" * 23 + "1"
    missing = world.request("GET", f"/tasks/{missing_id}/attempts", org, kind)
    assert foreign.status_code == missing.status_code == 404
    assert comparable(foreign, foreign_id) == comparable(missing, missing_id)
    outside = world.request(
        "GET", f"/tasks/{world.tasks[org]}/attempts", org, kind, {"projectId": PROJECT}
    )
    assert outside.status_code == 404


@pytest.mark.parametrize("kind", ["read_only_header", "read_only_query", "read_only_bearer"])
def test_read_only_credentials_read_attempts(world: World, kind: str) -> None:
    org = ORGS[0]
    response = world.request("GET", f"/tasks/{world.tasks[org]}/attempts", org, kind)
    assert response.status_code == 200, response.text


def test_attempts_need_credentials(world: World) -> None:
    path = f"{PREFIX}/tasks/{world.tasks[ORGS[0]]}/attempts"
    for headers in ({}, {"X-API-Key": "tt_nope"}, {"Authorization": "Bearer nope"}):
        response = world.http.get(path, headers={**JSON, **headers})
        assert response.status_code == 401
        assert response.json()["code"] == 401


# --- GET /tasks/{taskId}/logs (issue 13) -------------------------------------------------------


@matrix
def test_logs_of_foreign_tasks_look_missing(world: World, org: str, kind: str) -> None:
    own = world.request("GET", f"/tasks/{world.tasks[org]}/logs", org, kind)
    assert own.status_code == 200, own.text
    assert own.json()["items"] == []
    foreign_id = world.tasks[world.other(org)]
    foreign = world.request("GET", f"/tasks/{foreign_id}/logs", org, kind, {"wait": "1"})
    missing_id = "0" * 23 + "1"
    missing = world.request("GET", f"/tasks/{missing_id}/logs", org, kind, {"wait": "1"})
    assert foreign.status_code == missing.status_code == 404
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    assert comparable(foreign, foreign_id) == comparable(missing, missing_id)


@pytest.mark.parametrize("kind", ["read_only_header", "read_only_query", "read_only_bearer"])
def test_read_only_credentials_read_logs(world: World, kind: str) -> None:
    org = ORGS[0]
    response = world.request("GET", f"/tasks/{world.tasks[org]}/logs", org, kind)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "tt_nope"}, {"Authorization": "Bearer nope"}],
    ids=["none", "bad-key", "bad-bearer"],
)
def test_logs_need_credentials(world: World, headers: dict[str, str]) -> None:
    path = f"{PREFIX}/tasks/{world.tasks[ORGS[0]]}/logs"
    response = world.http.get(path, headers={**JSON, **headers})
    assert response.status_code == 401
    assert response.json()["code"] == 401
