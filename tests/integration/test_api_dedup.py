"""Idempotent creates through a real ``tasktrack serve`` on SQLite and PostgreSQL (issue 14):
the ``Idempotency-Key`` header and the ``uniqueKey`` create option."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores
from tests.integration.conftest import Server

JSON = {"Accept": "application/json"}
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def api(module_server: Server) -> httpx.Client:
    with module_server.client(headers=JSON) as client:
        yield client


def _key() -> str:
    return secrets.token_hex(8)


def _create(api: httpx.Client, body: dict[str, object], key: str | None) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post("/v2.0/tasks", json=body, headers=headers)


def test_a_repeated_request_returns_the_original_task_marked_as_a_replay(
    api: httpx.Client,
) -> None:
    key, body = _key(), {"name": "demo.sleep", "data": {"seconds": 1}}
    first = _create(api, body, f'"{key}"')  # the draft's Structured Field string form
    again = _create(api, {"data": {"seconds": 1}, "name": "demo.sleep"}, key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]


def test_the_same_key_with_another_body_is_a_422_problem(api: httpx.Client) -> None:
    key = _key()
    assert _create(api, {"name": "demo.sleep", "data": {"seconds": 1}}, key).status_code == 201
    refused = _create(api, {"name": "demo.sleep", "data": {"seconds": 2}}, key)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in refused.json()["detail"]


def test_idempotency_keys_belong_to_one_organisation(
    module_server: Server, api: httpx.Client
) -> None:
    async def other_tenant(stores: Stores) -> str:
        identity = IdentityService(stores.identity)
        org = await identity.create_organisation(f"other-{_key()}")
        user = await identity.create_user(org.id, f"{_key()}@example.invalid")
        return (await identity.create_api_key(user.id))[1]

    other_key = module_server.write(other_tenant)
    key, body = _key(), {"name": "demo.sleep", "data": {"seconds": 1}}
    mine = _create(api, body, key)
    with module_server.client(headers={**JSON, "X-API-Key": other_key}) as other:
        theirs = _create(other, body, key)
        assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
        assert theirs.json()["_id"] != mine.json()["_id"]
        # ... and neither tenant can read the other's task through the shared key.
        assert other.get(f"/v2.0/tasks/{mine.json()['_id']}").status_code == 404


def test_fifty_concurrent_identical_requests_create_one_task(module_server: Server) -> None:
    key, body = _key(), {"name": "demo.sleep", "data": {"seconds": 1, "tag": _key()}}

    async def burst() -> list[httpx.Response]:
        headers = {**JSON, "X-API-Key": module_server.api_key, "Idempotency-Key": key}
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(
            base_url=module_server.base_url, headers=headers, timeout=60, limits=limits
        ) as client:
            return await asyncio.gather(*(client.post("/v2.0/tasks", json=body) for _ in range(50)))

    replies = asyncio.run(burst())
    assert {r.status_code for r in replies} == {201}
    assert len({r.json()["_id"] for r in replies}) == 1
    fresh = [r for r in replies if "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1
    with module_server.client(headers=JSON) as api:
        listed = api.get("/v2.0/tasks", params={"limit": 100, "name": "demo.sleep"}).json()
    tagged = [t for t in listed["items"] if t["data"].get("tag") == body["data"]["tag"]]  # type: ignore[index]
    assert len(tagged) == 1


def test_a_unique_key_returns_the_unfinished_task_with_200(api: httpx.Client) -> None:
    unique = f"import-{_key()}"
    first = api.post("/v2.0/tasks", json={"name": "demo.sleep", "uniqueKey": unique})
    same = api.post(
        "/v2.0/tasks", json={"name": "demo.sleep", "data": {"x": 1}, "uniqueKey": unique}
    )
    assert first.status_code == 201 and same.status_code == 200
    assert same.json()["_id"] == first.json()["_id"]
    assert same.headers["Location"].endswith(first.json()["_id"])
    details = api.get(f"/v2.0/tasks/{first.json()['_id']}/details").json()
    assert details["uniqueKey"] == unique
    api.post(f"/v2.0/tasks/{first.json()['_id']}/cancel")
    after = api.post("/v2.0/tasks", json={"name": "demo.sleep", "uniqueKey": unique})
    assert after.status_code == 201 and after.json()["_id"] != first.json()["_id"]
    plain = api.post("/v2.0/tasks", json={"name": "demo.sleep"}).json()
    assert api.get(f"/v2.0/tasks/{plain['_id']}/details").json()["uniqueKey"] is None


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"name": "demo.sleep", "uniqueKey": 5}, {}, "uniqueKey"),
        ({"name": "demo.sleep", "uniqueKey": ""}, {}, "uniqueKey"),
        ({"name": "demo.sleep", "uniqueKey": "x" * 256}, {}, "uniqueKey"),
        ({"name": "demo.sleep"}, {"Idempotency-Key": "k" * 256}, "Idempotency-Key"),
        ({"name": "demo.sleep"}, {"Idempotency-Key": "caf\u00e9".encode()}, "Idempotency-Key"),
        ({"name": "demo.sleep"}, {"Idempotency-Key": '"a"b"'}, "Idempotency-Key"),
        ({"name": "demo.sleep"}, {"Idempotency-Key": '"caf\u00e9"'.encode()}, "Idempotency-Key"),
        ({"name": "demo.sleep"}, {"Idempotency-Key": '"k";x=1'}, "Idempotency-Key"),
        ({"name": "demo.sleep"}, {"Idempotency-Key": '""'}, "Idempotency-Key"),
    ],
)
def test_bad_keys_are_400_problems_naming_the_field(
    api: httpx.Client, body: dict[str, object], headers: dict[str, str], field: str
) -> None:
    reply = api.post("/v2.0/tasks", json=body, headers=headers)
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert field in reply.json()["detail"]
