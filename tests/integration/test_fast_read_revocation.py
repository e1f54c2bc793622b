"""Fast reads stay exact: over a real server on both databases, a credential the server has
already verified (and so remembers) is refused once it is revoked, and a deleted task is gone.

The stated bounds (docs/fast-reads.md):
- a change made through the serving process: refused from the next request (both databases);
- a change made by another process (here: this test process, on the same database): on SQLite
  from the next request, on PostgreSQL once the NOTIFY arrives, within ``PG_BOUND`` seconds;
- a deleted task: gone from the next request (tasks are never cached).
Each check first reads twice, so the credential is in the server's cache when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores
from tests.integration.conftest import Seeder, Server, StartServer

#: The bound for a change made by another process on PostgreSQL (a NOTIFY's delivery).
PG_BOUND = 2.0
NO_LIMIT = {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}
TASKS = "/v2.0/tasks"


def bound_for(server: Server) -> float:
    """0: the very next request must be refused."""
    return PG_BOUND if server.db_url.startswith("postgres") else 0.0


def refused_within(get: Callable[[], httpx.Response], bound: float, status: int) -> None:
    """Poll ``get`` until it answers ``status``; fail if it still serves after ``bound``."""
    deadline = time.monotonic() + bound
    while True:
        response = get()
        if response.status_code == status:
            assert response.headers["content-type"].startswith("application/problem+json")
            return
        assert response.status_code in (200, 304), response.text
        assert time.monotonic() < deadline, f"still served {bound}s after the change"
        time.sleep(0.01)  # a poll interval, bounded by the deadline above


async def _seed(seeder: Seeder) -> dict[str, str]:
    identity = IdentityService(seeder.stores.identity)
    user = await identity.create_user(seeder.org_id, "bob@b.test")
    _, user_key = await identity.create_api_key(user.id)
    client, secret = await identity.create_oauth_client(seeder.org_id, name="reader")
    done = seeder.task("export", status=Status.DONE)
    task = (await seeder.add([done]))[0]
    return {
        "task": task.id,
        "user": user.id,
        "user_key": user_key,
        "client": client.id,
        "secret": secret,
    }


@pytest.fixture
def server(server_factory: StartServer) -> Server:
    return server_factory(seed=_seed, env=NO_LIMIT)


def _bearer(server: Server) -> str:
    with server.client(auth=False) as http:
        response = http.post(
            "/auth/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(server.seeded["client"], server.seeded["secret"]),
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _reader(server: Server, **credential: Any) -> Callable[[], httpx.Response]:
    """GET the seeded task with one credential (``key``, ``query`` or ``bearer``)."""
    url = f"{server.base_url}{TASKS}/{server.seeded['task']}"
    headers, params = {"Accept": "application/json"}, {}
    if "key" in credential:
        headers["X-API-Key"] = credential["key"]
    if "query" in credential:
        params["api_key"] = credential["query"]
    if "bearer" in credential:
        headers["Authorization"] = f"Bearer {credential['bearer']}"
    if "etag" in credential:
        headers["If-None-Match"] = credential["etag"]

    def get() -> httpx.Response:
        return httpx.get(url, headers=headers, params=params, timeout=30)

    return get


def _warm(*readers: Callable[[], httpx.Response]) -> None:
    for read in readers:
        for _ in range(2):
            assert read().status_code in (200, 304)


def _key_id(key: str) -> str:
    return key.split("_")[1]


def _grant_id(token: str) -> str:
    grant: str = jwt.decode(token, options={"verify_signature": False})["gid"]
    return grant


def test_a_key_revoked_by_another_process_is_refused(server: Server) -> None:
    key = server.seeded["user_key"]
    readers = [_reader(server, key=key), _reader(server, query=key)]
    etag = readers[0]().headers["etag"]
    readers.append(_reader(server, key=key, etag=etag))  # a revalidation must not 304
    _warm(*readers)
    server.write(lambda stores: stores.identity.revoke_api_key(_key_id(key)))
    for read in readers:
        refused_within(read, bound_for(server), 401)
    assert _reader(server, key=server.api_key)().status_code == 200  # others still read


def test_a_grant_revoked_by_another_process_is_refused(server: Server) -> None:
    token = _bearer(server)
    readers = [_reader(server, bearer=token)]
    readers.append(_reader(server, bearer=token, etag=readers[0]().headers["etag"]))
    _warm(*readers)
    server.write(lambda stores: stores.identity.revoke_grant(_grant_id(token)))
    for read in readers:
        refused_within(read, bound_for(server), 401)


def test_a_grant_revoked_through_the_server_is_refused_at_once(server: Server) -> None:
    token = _bearer(server)
    read = _reader(server, bearer=token)
    _warm(read)
    with server.client(auth=False) as http:
        assert http.post("/auth/oauth2/revoke", data={"token": token}).status_code == 200
    refused_within(read, 0.0, 401)


def test_disabling_a_user_elsewhere_ends_their_keys_and_tokens(server: Server) -> None:
    key = server.seeded["user_key"]
    token = _bearer(server)
    readers = [_reader(server, key=key), _reader(server, query=key), _reader(server, bearer=token)]
    _warm(*readers)

    async def disable(stores: Stores) -> None:
        identity = IdentityService(stores.identity)
        await identity.disable_user(server.seeded["user"])
        client = await stores.identity.get_oauth_client(server.seeded["client"])
        assert client is not None
        await identity.disable_user(client.user_id)  # the token's (service) user

    server.write(disable)
    for read in readers:
        refused_within(read, bound_for(server), 401)


def test_a_deleted_task_is_gone_from_the_next_read(server: Server) -> None:
    token = _bearer(server)
    readers = [
        _reader(server, key=server.api_key),
        _reader(server, query=server.api_key),
        _reader(server, bearer=token),
    ]
    etag = readers[0]().headers["etag"]
    readers.append(_reader(server, key=server.api_key, etag=etag))
    _warm(*readers)
    assert readers[-1]().status_code == 304

    async def delete(stores: Stores) -> None:
        scope = Seeder(stores, server.org_id, server.user_id).scope()
        await stores.tasks.delete(server.seeded["task"], scope)

    server.write(delete)
    for read in readers:
        refused_within(read, 0.0, 404)
