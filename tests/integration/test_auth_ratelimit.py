"""Failed authentication is rate-limited per client address over real HTTP; success is not.

Every request here comes from 127.0.0.1, so each test gets a server of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.auth_server import AuthServer, Tenant, password_login, prepare, start, stop

TASKS = "/v2.0/tasks"
TOKEN = "/auth/oauth2/token"
LIMIT = 5


def serve(workdir: Path, failures_per_minute: int) -> tuple[AuthServer, Tenant]:
    db_url = f"sqlite:///{(workdir / 'auth.db').resolve()}"
    tenant = prepare(db_url, ["acme"])["acme"]
    env = {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": str(failures_per_minute)}
    return start(workdir, env, db_url=db_url), tenant


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[tuple[AuthServer, Tenant]]:
    """A server allowing :data:`LIMIT` failures a minute (one back every 12 s)."""
    server, tenant = serve(tmp_path, LIMIT)
    try:
        yield server, tenant
    finally:
        stop(server)


def wrong_secret(api_key: str, i: int) -> str:
    """The key's id with a secret that is not its own: a guess at that key."""
    return f"{api_key[:28]}{i:043d}"


def test_guessing_api_keys_is_stopped_with_429_and_retry_after(
    limited: tuple[AuthServer, Tenant],
) -> None:
    server, tenant = limited
    with server.client() as http:
        # Half the guesses read one task (the fast path, which hands failures to the routed
        # app): each must count exactly once, no more, no less.
        one_task = f"{TASKS}/{'a' * 24}"
        guesses = [
            http.get(
                one_task if i % 2 else TASKS, headers={"X-API-Key": wrong_secret(tenant.api_key, i)}
            ).status_code
            for i in range(LIMIT)
        ]
        assert guesses == [401] * LIMIT
        for attempt in (
            http.get(TASKS, headers={"X-API-Key": wrong_secret(tenant.api_key, 99)}),
            http.get(TASKS, params={"api_key": wrong_secret(tenant.api_key, 98)}),
            # Even the right key waits: a right guess must not be told apart from a wrong one.
            http.get(TASKS, headers={"X-API-Key": tenant.api_key}),
            http.get(TASKS, params={"api_key": tenant.api_key}),
            http.get(one_task, headers={"X-API-Key": tenant.api_key}),
        ):
            assert attempt.status_code == 429, attempt.text
            assert attempt.headers["content-type"].startswith("application/problem+json")
            assert attempt.json()["code"] == 429
            assert 1 <= int(attempt.headers["retry-after"]) <= 60 // LIMIT
        assert http.get("/health").status_code == 200  # carries no credentials
        # Guesses at one key do not lock out the address's other keys (see test_auth_lockout).
        other = http.get(TASKS, headers={"X-API-Key": tenant.read_only_key})
        assert other.status_code == 200


def test_guessing_unnamed_credentials_is_stopped(limited: tuple[AuthServer, Tenant]) -> None:
    server, _ = limited
    with server.client() as http:
        guesses = [
            {"headers": {"X-API-Key": "tt_another_guess"}},
            {"params": {"api_key": "tt_yet_another"}},
            {"headers": {"Authorization": "Bearer guess"}},
        ]
        statuses = [http.get(TASKS, **guesses[i % 3]).status_code for i in range(LIMIT + 3)]  # type: ignore[arg-type]
        assert statuses == [401] * LIMIT + [429] * 3


def test_the_block_lifts_as_the_budget_refills(tmp_path: Path) -> None:
    per_minute = 60  # one failure back every second
    server, tenant = serve(tmp_path, per_minute)
    try:
        with server.client() as http:
            statuses: list[int] = []
            while not statuses or statuses[-1] != 429:
                assert len(statuses) < 3 * per_minute, "never blocked"
                guess = {"X-API-Key": wrong_secret(tenant.api_key, len(statuses))}
                statuses.append(http.get(TASKS, headers=guess).status_code)
            assert len(statuses) > per_minute and set(statuses[:-1]) == {401}
            assert http.get(TASKS, headers={"X-API-Key": tenant.api_key}).status_code == 429
            deadline = time.monotonic() + 10
            while http.get(TASKS, headers={"X-API-Key": tenant.api_key}).status_code == 429:
                assert time.monotonic() < deadline, "the block never lifted"
                time.sleep(0.1)  # a poll interval, bounded by the deadline
            assert http.get(TASKS, headers={"X-API-Key": tenant.api_key}).status_code == 200
    finally:
        stop(server)


def test_guessing_passwords_at_the_token_endpoint_is_stopped(
    limited: tuple[AuthServer, Tenant],
) -> None:
    server, tenant = limited
    with server.client() as http:
        wrong = {"grant_type": "password", "username": tenant.email, "password": "guess"}
        statuses = [http.post(TOKEN, data=wrong).status_code for _ in range(LIMIT)]
        assert statuses == [400] * LIMIT
        right = {**wrong, "password": tenant.password}
        blocked = http.post(TOKEN, data=right)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1


def test_guessing_client_secrets_is_stopped(limited: tuple[AuthServer, Tenant]) -> None:
    server, tenant = limited
    with server.client() as http:
        form = {"grant_type": "client_credentials"}
        for i in range(LIMIT):
            response = http.post(TOKEN, data=form, auth=(tenant.client_id, f"guess-{i}"))
            assert response.status_code == 401
        blocked = http.post(TOKEN, data=form, auth=(tenant.client_id, tenant.client_secret))
        assert blocked.status_code == 429


def test_authenticated_traffic_is_never_limited(limited: tuple[AuthServer, Tenant]) -> None:
    server, tenant = limited
    with server.client() as http:
        token = password_login(http, tenant)["access_token"]
        credentials = [
            {"headers": {"X-API-Key": tenant.api_key}},
            {"params": {"api_key": tenant.api_key}},
            {"headers": {"Authorization": f"Bearer {token}"}},
        ]
        for i in range(300):  # far beyond the failure budget
            assert http.get(TASKS, **credentials[i % 3]).status_code == 200  # type: ignore[arg-type]
        # A few failures below the budget do not block the address either.
        for _ in range(LIMIT - 1):
            assert http.get(TASKS, headers={"X-API-Key": "tt_wrong"}).status_code == 401
        assert http.get(TASKS, headers={"X-API-Key": tenant.api_key}).status_code == 200
