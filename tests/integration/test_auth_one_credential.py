"""Exactly one credential per request, over real HTTP: two (or a repeated one) are a 401.

Before, a valid ``X-API-Key`` beside a malformed ``Authorization`` was answered as the key's
owner (schemathesis' ``ignored_auth`` found it): the server silently picked one credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.auth_server import AuthServer, Tenant, password_login, prepare, start, stop

TASKS = "/v2.0/tasks"
#: Failed attempts one address may make a minute here: the ambiguous requests below are more.
LIMIT = 3


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AuthServer, Tenant]]:
    workdir: Path = tmp_path_factory.mktemp("one-credential")
    db_url = f"sqlite:///{(workdir / 'auth.db').resolve()}"
    tenant = prepare(db_url, ["acme"])["acme"]
    server = start(workdir, {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": str(LIMIT)}, db_url=db_url)
    try:
        yield server, tenant
    finally:
        stop(server)


def _two_credentials(tenant: Tenant, bearer: str) -> list[dict[str, Any]]:
    key = tenant.api_key
    return [
        {"headers": {"X-API-Key": key, "Authorization": "Bearer not-a-token"}},
        {"headers": {"X-API-Key": key, "Authorization": "Basic dXNlcjpwYXNz"}},
        {"headers": {"X-API-Key": key, "Authorization": ""}},
        {"headers": {"X-API-Key": key, "Authorization": f"Bearer {bearer}"}},  # both valid
        {"headers": {"X-API-Key": key}, "params": {"api_key": key}},
        {"headers": [("X-API-Key", key), ("X-API-Key", tenant.read_only_key)]},
        {"params": [("api_key", key), ("api_key", key)]},
        {"headers": {"Authorization": f"Bearer {bearer}"}, "params": {"api_key": key}},
    ]


def _is_documented_401(response: httpx.Response) -> bool:
    return (
        response.status_code == 401
        and response.headers["content-type"] == "application/problem+json"
        and response.headers["www-authenticate"] == "Bearer"
        and "more than one credential" in response.json()["detail"]
    )


def test_two_credentials_are_refused_whichever_they_are(
    served: tuple[AuthServer, Tenant],
) -> None:
    server, tenant = served
    with server.client() as http:
        bearer = password_login(http, tenant)["access_token"]
        task = http.post(TASKS, json={"name": "demo.sleep"}, headers={"X-API-Key": tenant.api_key})
        one_task = f"{TASKS}/{task.json()['_id']}"
        for kwargs in _two_credentials(tenant, bearer):
            for path in (TASKS, one_task):  # the list, and the fast path's plain read
                response = http.get(path, **kwargs)
                assert _is_documented_401(response), (path, kwargs, response.text)
        # None of them was checked, so none was a guess: the limiter has counted nothing
        # (LIMIT failures a minute would long have been spent), and each one alone works.
        for alone in (
            {"headers": {"X-API-Key": tenant.api_key}},
            {"params": {"api_key": tenant.api_key}},
            {"headers": {"Authorization": f"Bearer {bearer}"}},
        ):
            assert http.get(one_task, **alone).status_code == 200
            assert http.get(TASKS, **alone).status_code == 200


def test_the_limiter_here_does_count_a_single_wrong_key(
    served: tuple[AuthServer, Tenant],
) -> None:
    """What makes the first test's "nothing was counted" mean something on this server."""
    server, tenant = served
    bad_key = f"{tenant.read_only_key[:28]}{'0' * 43}"  # a guess at the read-only key
    with server.client() as http:
        for _ in range(LIMIT):
            assert http.get(TASKS, headers={"X-API-Key": bad_key}).status_code == 401
        assert http.get(TASKS, headers={"X-API-Key": bad_key}).status_code == 429
