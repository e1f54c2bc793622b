"""The OAuth 2.0 token endpoint and bearer tokens over real HTTP (RFC 6749, RFC 7009)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tasktrack.service.identity import IdentityService
from tests.integration.auth_server import (
    AuthServer,
    Tenant,
    client_login,
    password_login,
    prepare,
    start,
    stop,
)

TOKEN = "/auth/oauth2/token"
REVOKE = "/auth/oauth2/revoke"
TASKS = "/new/v2.0/tasks"
NO_LIMIT = {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AuthServer, Tenant]]:
    workdir = tmp_path_factory.mktemp("tokens")
    db_url = f"sqlite:///{(workdir / 'auth.db').resolve()}"
    tenant = prepare(db_url, ["acme"])["acme"]
    server = start(workdir, NO_LIMIT, db_url=db_url)
    try:
        yield server, tenant
    finally:
        stop(server)


@pytest.fixture(scope="module")
def server(setup: tuple[AuthServer, Tenant]) -> AuthServer:
    return setup[0]


@pytest.fixture(scope="module")
def tenant(setup: tuple[AuthServer, Tenant]) -> Tenant:
    return setup[1]


@pytest.fixture
def http(server: AuthServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def assert_success(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    return body


def test_password_grant_with_client_credentials_in_the_body(
    http: httpx.Client, tenant: Tenant
) -> None:
    form = {
        "grant_type": "password",
        "username": tenant.email.upper(),
        "password": tenant.password,
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
        "scope": "",  # blank fields, as the npm client sends them, are ignored
        "rememberMe": "",
    }
    body = assert_success(http.post(TOKEN, data=form))
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"exp", "iat", "sub", "org", "jti"} <= claims.keys()
    assert (claims["sub"], claims["org"]) == (tenant.user_id, tenant.org_id)
    assert http.get(TASKS, headers=bearer(body["access_token"])).status_code == 200


def test_password_grant_with_http_basic_and_without_a_client(
    http: httpx.Client, tenant: Tenant
) -> None:
    form = {"grant_type": "password", "username": tenant.email, "password": tenant.password}
    assert_success(http.post(TOKEN, data=form, auth=(tenant.client_id, tenant.client_secret)))
    assert_success(http.post(TOKEN, data=form))


def test_client_credentials_act_as_the_clients_service_user(
    http: httpx.Client, tenant: Tenant
) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
    }
    token = assert_success(http.post(TOKEN, data=body))["access_token"]
    created = http.post(TASKS, json={"name": "demo.sleep"}, headers=bearer(token))
    assert created.status_code == 201, created.text
    service_user = created.json()["createdBy"]
    assert len(service_user) == 24 and service_user != tenant.user_id


def test_refresh_rotates_and_reuse_revokes_the_sign_in(http: httpx.Client, tenant: Tenant) -> None:
    first = password_login(http, tenant)
    refresh = {
        "grant_type": "refresh_token",
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
    }
    second = assert_success(
        http.post(TOKEN, data={**refresh, "refresh_token": first["refresh_token"]})
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert http.get(TASKS, headers=bearer(second["access_token"])).status_code == 200
    reused = http.post(TOKEN, data={**refresh, "refresh_token": first["refresh_token"]})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # Reuse means the token leaked: everything issued from this sign-in is dead now.
    assert http.get(TASKS, headers=bearer(second["access_token"])).status_code == 401
    again = http.post(TOKEN, data={**refresh, "refresh_token": second["refresh_token"]})
    assert again.status_code == 400


PASSWORD_GRANT = {"grant_type": "password"}
CLIENT_GRANT = {"grant_type": "client_credentials"}
ERROR_CASES = [
    pytest.param(
        {**PASSWORD_GRANT, "username": "{email}", "password": "nope"},
        {},
        400,
        "invalid_grant",
        id="wrong-password",
    ),
    pytest.param(
        {**PASSWORD_GRANT, "username": "x@y.test", "password": "nope"},
        {},
        400,
        "invalid_grant",
        id="unknown-user",
    ),
    pytest.param({"username": "a"}, {}, 400, "invalid_request", id="no-grant-type"),
    pytest.param(
        {"grant_type": "authorization_code", "code": "x"},
        {},
        400,
        "unsupported_grant_type",
        id="unsupported-grant",
    ),
    pytest.param({**PASSWORD_GRANT, "password": "x"}, {}, 400, "invalid_request", id="no-user"),
    pytest.param(
        {"grant_type": "refresh_token"}, {}, 400, "invalid_request", id="no-refresh-token"
    ),
    pytest.param(
        {"grant_type": "refresh_token", "refresh_token": "ttr_x"},
        {},
        400,
        "invalid_grant",
        id="bad-refresh-token",
    ),
    pytest.param(CLIENT_GRANT, {}, 401, "invalid_client", id="no-client"),
    pytest.param(
        {**CLIENT_GRANT, "client_id": "{client_id}", "client_secret": "x"},
        {},
        401,
        "invalid_client",
        id="wrong-secret",
    ),
    pytest.param(
        {**CLIENT_GRANT, "client_id": "{client_id}"},
        {},
        401,
        "invalid_client",
        id="id-without-secret",
    ),
    pytest.param(CLIENT_GRANT, {"basic": "{client_id}:x"}, 401, "invalid_client", id="bad-basic"),
    pytest.param(
        CLIENT_GRANT, {"Authorization": "Basic !!!"}, 401, "invalid_client", id="malformed-basic"
    ),
    pytest.param(
        {**CLIENT_GRANT, "client_id": "{client_id}", "client_secret": "x"},
        {"basic": "a:b"},
        400,
        "invalid_request",
        id="two-client-auths",
    ),
]


@pytest.mark.parametrize(("form", "headers", "status", "error"), ERROR_CASES)
def test_failures_are_rfc6749_error_bodies(
    http: httpx.Client,
    tenant: Tenant,
    form: dict[str, str],
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    values = {"email": tenant.email, "client_id": tenant.client_id}
    form = {k: v.format(**values) for k, v in form.items()}
    if "basic" in headers:
        pair = headers.pop("basic").format(**values).encode()
        headers = {**headers, "Authorization": "Basic " + base64.b64encode(pair).decode()}
    response = http.post(TOKEN, data=form, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_unknown_user_and_wrong_password_read_the_same(http: httpx.Client, tenant: Tenant) -> None:
    wrong = http.post(
        TOKEN, data={"grant_type": "password", "username": tenant.email, "password": "x"}
    )
    unknown = http.post(
        TOKEN, data={"grant_type": "password", "username": "no@x.test", "password": "x"}
    )
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"grant_type": "password"}', "application/json"),
        (b"grant_type=password&grant_type=client_credentials", "application/x-www-form-urlencoded"),
        (b"grant_type=password&" + b"x" * 20_000, "application/x-www-form-urlencoded"),
    ],
    ids=["json", "repeated-parameter", "too-large"],
)
def test_malformed_requests_are_invalid_request(
    http: httpx.Client, body: bytes, content_type: str
) -> None:
    response = http.post(TOKEN, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
def test_revoked_tokens_stop_at_once(http: httpx.Client, tenant: Tenant, which: str) -> None:
    tokens = password_login(http, tenant)
    assert http.get(TASKS, headers=bearer(tokens["access_token"])).status_code == 200
    response = http.post(REVOKE, data={"token": tokens[which]})
    assert response.status_code == 200
    denied = http.get(TASKS, headers=bearer(tokens["access_token"]))
    assert denied.status_code == 401 and denied.json()["code"] == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert (
        http.post(TOKEN, data=refresh, auth=(tenant.client_id, tenant.client_secret)).status_code
        == 400
    )


def test_revoking_an_unknown_token_says_nothing(http: httpx.Client) -> None:
    assert http.post(REVOKE, data={"token": "never issued"}).status_code == 200
    assert http.post(REVOKE, json={"token": "never issued"}).status_code == 200
    assert http.post(REVOKE, data={}).json()["error"] == "invalid_request"


def test_forged_and_tampered_bearer_tokens_are_401(http: httpx.Client, tenant: Tenant) -> None:
    real = password_login(http, tenant)["access_token"]
    claims = jwt.decode(real, options={"verify_signature": False})
    head, _, signature = real.split(".")
    tampered_claims = jwt.encode({**claims, "org": "f" * 24}, "k" * 64, algorithm="HS256")
    forgeries = {
        "other-key": jwt.encode(claims, "k" * 64, algorithm="HS256"),
        "alg-none": jwt.encode(claims, None, algorithm="none"),
        "tampered": f"{head}.{tampered_claims.split('.')[1]}.{signature}",
        "garbage": "x.y.z",
        "refresh-as-access": password_login(http, tenant)["refresh_token"],
    }
    for name, forged in forgeries.items():
        response = http.get(TASKS, headers=bearer(forged))
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_disabled_users_tokens_stop_at_once(
    server: AuthServer, http: httpx.Client, tenant: Tenant
) -> None:
    async def new_user(identity: IdentityService) -> str:
        user = await identity.create_user(tenant.org_id, "leaver@acme.test", "password-1234")
        return user.id

    user_id = server.run(new_user)
    form = {"grant_type": "password", "username": "leaver@acme.test", "password": "password-1234"}
    tokens = assert_success(http.post(TOKEN, data=form))
    assert http.get(TASKS, headers=bearer(tokens["access_token"])).status_code == 200

    async def disable(identity: IdentityService) -> None:
        await identity.disable_user(user_id)

    server.run(disable)
    assert http.get(TASKS, headers=bearer(tokens["access_token"])).status_code == 401
    assert http.post(TOKEN, data=form).json()["error"] == "invalid_grant"


def test_tokens_hold_across_processes_and_restarts(
    server: AuthServer, http: httpx.Client, tenant: Tenant, tmp_path: Path
) -> None:
    token = password_login(http, tenant)["access_token"]
    for _ in range(2):  # a second process on the same database, then that process restarted
        other = start(tmp_path, NO_LIMIT, db_url=server.db_url)
        try:
            with other.client() as client:
                assert client.get(TASKS, headers=bearer(token)).status_code == 200
        finally:
            stop(other)


def test_access_tokens_expire_and_refresh_renews_them(tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'ttl.db').resolve()}"
    tenant = prepare(db_url, ["brief"])["brief"]
    server = start(tmp_path, {**NO_LIMIT, "TASKTRACK_ACCESS_TOKEN_TTL": "1"}, db_url=db_url)
    try:
        with server.client() as http:
            tokens = client_login(http, tenant.client_id, tenant.client_secret)
            assert tokens["expires_in"] == 1
            deadline = time.monotonic() + 15
            while http.get(TASKS, headers=bearer(tokens["access_token"])).status_code == 200:
                assert time.monotonic() < deadline, "the access token never expired"
                time.sleep(0.1)  # a poll interval, bounded by the deadline
            expired = http.get(TASKS, headers=bearer(tokens["access_token"]))
            assert expired.status_code == 401 and "expired" in expired.json()["detail"]
            refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            renewed = http.post(TOKEN, data=refresh, auth=(tenant.client_id, tenant.client_secret))
            assert renewed.status_code == 200, renewed.text
            old, new = (
                jwt.decode(t, options={"verify_signature": False})
                for t in (tokens["access_token"], renewed.json()["access_token"])
            )
            assert new["exp"] > old["exp"] and new["jti"] != old["jti"]
    finally:
        stop(server)
