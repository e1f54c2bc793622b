"""The probe's smaller findings, through the real server: ``Allow`` on 405, exact integers,
no ``Host``-reflecting redirect, JSON-only create bodies (415), CSV formula cells defused,
a 403 that names the credential, a refresh error that confirms nothing, a protected /metrics.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores
from tests.integration.conftest import Seeder, Server, StartServer

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
TOKEN = "/auth/oauth2/token"
FORMULAS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR"]


async def _seed(s: Seeder) -> dict[str, str]:
    tasks = [
        s.task("tests.hardening.csv", status=Status.ERROR, fail_reason=reason)
        for reason in FORMULAS
    ]
    return {t.fail_reason: t.id for t in await s.add(tasks)}


@pytest.fixture(scope="module")
def srv(module_server_factory: StartServer) -> Server:
    env = {"TASKTRACK_METRICS_TOKEN": METRICS_TOKEN, "TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}
    return module_server_factory(seed=_seed, env=env)


@pytest.fixture
def client(srv: Server) -> Iterator[httpx.Client]:
    with srv.client(headers={"Accept": "application/json"}) as c:
        yield c


@pytest.fixture(autouse=True)
def no_unhandled_errors(srv: Server, check_server_log: Callable[[Server], None]) -> None:
    check_server_log(srv)


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


# --- 405 Allow -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v2.0/tasks", "GET, HEAD, POST"),
        ("PUT", "/new/v2.0/tasks", "GET, HEAD, POST"),
        ("PUT", "/v2.0/tasks/0123456789abcdef01234567", "DELETE, GET, HEAD"),
        ("GET", "/v2.0/tasks/0123456789abcdef01234567/cancel", "POST"),
        ("POST", "/metrics", "GET, HEAD"),
    ],
)
def test_a_405_names_the_allowed_methods(
    client: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert_problem(response, 405)
    assert response.headers["allow"] == allow


# --- integers in data ------------------------------------------------------------------------


def test_an_integer_that_cannot_be_stored_exactly_is_a_400_naming_its_path(
    client: httpx.Client,
) -> None:
    before = client.get("/v2.0/tasks", params={"limit": 1}).json()["total"]
    big = b"123456789012345678901234567890"
    raw = b'{"name": "demo.sleep", "data": {"ok": 1, "deep": [0, {"big": ' + big + b"}]}}"
    response = client.post("/v2.0/tasks", content=raw, headers={"Content-Type": "application/json"})
    body = assert_problem(response, 400, "data.deep[1].big", "exactly")
    assert body["code"] == 1005
    small = b'{"name": "demo.sleep", "data": {"n": -123456789012345678901234567890}}'
    response = client.post(
        "/v2.0/tasks", content=small, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "data.n")
    assert client.get("/v2.0/tasks", params={"limit": 1}).json()["total"] == before


def test_integers_at_the_edges_and_large_floats_are_kept_as_sent(client: httpx.Client) -> None:
    raw = (
        b'{"name": "demo.sleep", "data": {"max": 18446744073709551615, '
        b'"min": -9223372036854775808, "float": 1e30}}'
    )
    created = client.post("/v2.0/tasks", content=raw, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    read = client.get(f"/v2.0/tasks/{created.json()['_id']}")
    data = json.loads(read.text)["data"]
    assert data == {"max": 2**64 - 1, "min": -(2**63), "float": 1e30}


# --- redirects -------------------------------------------------------------------------------


def test_the_trailing_slash_redirect_does_not_reflect_the_host(client: httpx.Client) -> None:
    response = client.get("/v2.0/tasks/?limit=2", headers={"Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == "/v2.0/tasks?limit=2"
    followed = client.get("/v2.0/tasks/", follow_redirects=True)
    assert followed.status_code == 200


@pytest.mark.parametrize("path", ["//evil.example/", "//evil.example", "/nothing/"])
def test_paths_with_no_twin_are_a_404_not_a_redirect(
    srv: Server, client: httpx.Client, path: str
) -> None:
    # The full URL: a path starting with // would otherwise be read as another host.
    assert_problem(client.get(srv.base_url + path), 404)


# --- media type of create bodies -------------------------------------------------------------

BODY = json.dumps({"name": "demo.sleep", "data": {}}).encode()


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/json; charset=bogus", "application/x-www-form-urlencoded",
     "application/jsonx", "multipart/form-data"],
)  # fmt: skip
def test_create_needs_a_json_media_type(client: httpx.Client, content_type: str | None) -> None:
    request = client.build_request("POST", "/v2.0/tasks", content=BODY)
    request.headers.pop("content-type", None)
    if content_type is not None:
        request.headers["content-type"] = content_type
    body = assert_problem(client.send(request), 415)
    assert body["code"] == 415


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;Charset=UTF-8",
     "application/vnd.tasktrack+json", "application/merge-patch+json; charset=\"utf-8\""],
)  # fmt: skip
def test_json_media_types_are_accepted(client: httpx.Client, content_type: str) -> None:
    response = client.post("/v2.0/tasks", content=BODY, headers={"Content-Type": content_type})
    assert response.status_code == 201, response.text


# --- CSV -------------------------------------------------------------------------------------


def test_csv_cells_that_would_run_as_formulas_start_with_a_quote(
    srv: Server, client: httpx.Client
) -> None:
    seeded: dict[str, str] = srv.seeded
    for reason, task_id in seeded.items():
        response = client.get(f"/v2.0/tasks/{task_id}", headers={"Accept": "text/csv"})
        rows = list(csv.reader(io.StringIO(response.text, newline="")))
        assert rows[1][rows[0].index("failReason")] == "'" + reason
        as_json = client.get(f"/v2.0/tasks/{task_id}").json()
        assert as_json["failReason"] == reason  # only the CSV is changed


# --- 403 wording -----------------------------------------------------------------------------


def _read_only_credentials(srv: Server) -> tuple[str, str, str]:
    """A read-only API key, and a read-only OAuth client's id and secret."""

    async def make(stores: Stores) -> tuple[str, str, str]:
        identity = IdentityService(stores.identity)
        _, key = await identity.create_api_key(srv.user_id, read_only=True)
        client, secret = await identity.create_oauth_client(srv.org_id, read_only=True)
        return key, client.id, secret

    made: tuple[str, str, str] = srv.write(make)
    return made


def test_the_403_names_the_credential_that_is_read_only(srv: Server) -> None:
    key, client_id, secret = _read_only_credentials(srv)
    with srv.client(auth=False) as http:
        grant = {"grant_type": "client_credentials"}
        token = http.post(TOKEN, data=grant, auth=(client_id, secret)).json()["access_token"]
        by_key = http.post("/v2.0/tasks", json={"name": "demo.sleep"}, headers={"X-API-Key": key})
        by_token = http.post(
            "/v2.0/tasks", json={"name": "demo.sleep"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert_problem(by_key, 403, "this API key is read-only")
    body = assert_problem(by_token, 403, "this access token is read-only")
    assert "API key" not in body["detail"]


# --- refresh tokens --------------------------------------------------------------------------


def test_a_refresh_token_offered_by_another_client_is_not_confirmed(srv: Server) -> None:
    async def make(stores: Stores) -> list[tuple[str, str]]:
        identity = IdentityService(stores.identity)
        made = [await identity.create_oauth_client(srv.org_id) for _ in range(2)]
        return [(client.id, secret) for client, secret in made]

    mine, theirs = srv.write(make)
    with srv.client(auth=False) as http:
        grant = {"grant_type": "client_credentials"}
        refresh = http.post(TOKEN, data=grant, auth=mine).json()["refresh_token"]
        form = {"grant_type": "refresh_token", "refresh_token": refresh}
        wrong_client = http.post(TOKEN, data=form, auth=theirs)
        no_client = http.post(TOKEN, data=form)
        unknown = http.post(
            TOKEN, data={**form, "refresh_token": refresh[:-4] + "AAAA"}, auth=theirs
        )
    assert wrong_client.status_code == unknown.status_code == no_client.status_code == 400
    assert wrong_client.json() == unknown.json() == no_client.json()
    assert http_ok(srv, TOKEN, form, mine)  # still good for the client it was issued to


def http_ok(srv: Server, path: str, form: dict[str, str], auth: tuple[str, str]) -> bool:
    with srv.client(auth=False) as http:
        return http.post(path, data=form, auth=auth).status_code == 200


# --- /metrics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {METRICS_TOKEN}"}],
)
def test_metrics_with_a_token_set_refuse_other_callers(
    srv: Server, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{srv.base_url}/metrics", headers=headers)
    assert_problem(response, 401, "TASKTRACK_METRICS_TOKEN")
    assert "tasktrack_tasks" not in response.text


def test_metrics_with_a_token_set_answer_its_bearer(srv: Server) -> None:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    response = httpx.get(f"{srv.base_url}/metrics", headers=headers)
    assert response.status_code == 200
    assert "tasktrack_tasks" in response.text


# --- the OpenAPI document agrees with behaviour ------------------------------------------------


def _accepts(document: dict[str, Any], pointer: str, value: Any) -> bool:
    """Whether the schema at ``pointer`` of ``document`` accepts ``value``."""
    schema = {**document, "$ref": pointer}
    return jsonschema.Draft202012Validator(schema).is_valid(value)


@pytest.fixture(scope="module")
def document(srv: Server) -> dict[str, Any]:
    with srv.client() as http:
        body: dict[str, Any] = http.get("/openapi.json").json()
    return body


def _sort_pointer(document: dict[str, Any]) -> str:
    assert document["components"]["parameters"]["Sort"]["name"] == "sort"
    return "#/components/parameters/Sort/schema"


def test_an_empty_sort_is_documented_and_served_as_the_default(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    assert _accepts(document, _sort_pointer(document), "")
    assert not _accepts(document, _sort_pointer(document), "colour:asc")
    assert client.get("/v2.0/tasks", params={"sort": ""}).status_code == 200
    assert client.get("/v2.0/tasks", params={"sort": "colour:asc"}).status_code == 400


def test_a_null_project_id_is_documented_and_accepted(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    body = {"name": "demo.sleep", "projectId": None}
    assert _accepts(document, "#/components/schemas/CreateTask", body)
    assert client.post("/v2.0/tasks", json=body).status_code == 201


def test_an_empty_revoke_token_is_documented_as_invalid_and_refused(
    srv: Server, document: dict[str, Any]
) -> None:
    assert not _accepts(document, "#/components/schemas/RevokeRequest", {"token": ""})
    assert not _accepts(document, "#/components/schemas/RevokeRequest", {})
    with srv.client(auth=False) as http:
        assert http.post("/auth/oauth2/revoke", data={"token": ""}).status_code == 400


def test_next_with_previous_is_a_documented_400(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    listed = document["paths"]["/v2.0/tasks"]["get"]["responses"]
    assert "400" in listed
    bad_request = document["components"]["responses"]["BadRequest"]["description"]
    assert "`next` and `previous` together" in bad_request
    page = client.get("/v2.0/tasks", params={"limit": 1}).json()
    both = {"next": page["nextCursor"] or "x", "previous": page["nextCursor"] or "x"}
    assert_problem(client.get("/v2.0/tasks", params=both), 400, "next or previous")


def test_create_documents_its_415(document: dict[str, Any]) -> None:
    for prefix in ("/v2.0", "/new/v2.0"):
        assert "415" in document["paths"][f"{prefix}/tasks"]["post"]["responses"]
