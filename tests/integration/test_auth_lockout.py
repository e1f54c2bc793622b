"""A neighbour's wrong guesses do not lock the owner of another account out, over real HTTP.

Every request here comes from one address (a shared NAT): failures count per address *and*
per account, so guessing stays bounded while other accounts' right credentials still work.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.auth_server import AuthServer, Tenant, prepare, start, stop

TOKEN = "/auth/oauth2/token"
TASKS = "/v2.0/tasks"
#: Small, so the budget refills slowly (one every 20 s) next to argon2 on a loaded machine.
LIMIT = 3
NAT = {"X-Forwarded-For": "203.0.113.7"}


@pytest.fixture
def two_tenants(tmp_path: Path) -> Iterator[tuple[AuthServer, Tenant, Tenant]]:
    db_url = f"sqlite:///{(tmp_path / 'auth.db').resolve()}"
    tenants = prepare(db_url, ["alpha", "bravo"])
    env = {
        "TASKTRACK_AUTH_FAILURES_PER_MINUTE": str(LIMIT),
        "TASKTRACK_FORWARDED_ALLOW_IPS": "127.0.0.1",
    }
    server = start(tmp_path, env, db_url=db_url)
    try:
        yield server, tenants["alpha"], tenants["bravo"]
    finally:
        stop(server)


def test_a_neighbours_guesses_do_not_lock_out_another_account(
    two_tenants: tuple[AuthServer, Tenant, Tenant],
) -> None:
    server, a, b = two_tenants
    with server.client(headers=NAT) as http:
        guess = {"grant_type": "password", "username": a.email}
        started = time.monotonic()
        statuses = [
            http.post(TOKEN, data={**guess, "password": f"guess-{i}"}).status_code
            for i in range(25)
        ]
        # Guessing account A stays bounded: its budget (and what refilled meanwhile), then
        # 429s, even for A's right password.
        refilled = int((time.monotonic() - started) * LIMIT / 60)
        assert statuses[:LIMIT] == [400] * LIMIT and set(statuses) == {400, 429}
        assert statuses.count(400) <= LIMIT + refilled and statuses[-1] == 429
        right_a = http.post(TOKEN, data={**guess, "password": a.password})
        assert right_a.status_code == 429 and int(right_a.headers["retry-after"]) >= 1
        # From the same address, B's owner signs in, and B's API key works.
        right_b = {"grant_type": "password", "username": b.email, "password": b.password}
        assert http.post(TOKEN, data=right_b).status_code == 200
        assert http.get(TASKS, headers={"X-API-Key": b.api_key}).status_code == 200
        # A's API key names another account than A's e-mail: it works too.
        assert http.get(TASKS, headers={"X-API-Key": a.api_key}).status_code == 200
    # A's owner, from another address, is not blocked by one address's guesses.
    with server.client(headers={"X-Forwarded-For": "198.51.100.1"}) as elsewhere:
        right_a_elsewhere = {"grant_type": "password", "username": a.email, "password": a.password}
        assert elsewhere.post(TOKEN, data=right_a_elsewhere).status_code == 200


def test_spraying_many_accounts_from_one_address_stays_bounded(tmp_path: Path) -> None:
    per_pair = 2  # so the address's ceiling (5 x 2 = 10 a minute) is cheap to reach
    db_url = f"sqlite:///{(tmp_path / 'auth.db').resolve()}"
    tenant = prepare(db_url, ["alpha"])["alpha"]
    env = {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": str(per_pair)}
    server = start(tmp_path, env, db_url=db_url)
    try:
        with server.client() as http:
            started = time.monotonic()
            statuses: list[int] = []
            while 429 not in statuses:
                assert len(statuses) < 40, "spraying was never stopped"
                form = {"grant_type": "password", "username": f"u{len(statuses)}@x.test"}
                statuses.append(http.post(TOKEN, data={**form, "password": "p"}).status_code)
            # The address's ceiling, 5 x 2 a minute, plus what refilled while argon2 ran.
            refilled = int((time.monotonic() - started) * 5 * per_pair / 60)
            assert 5 * per_pair <= statuses.count(400) <= 5 * per_pair + refilled
            blocked = http.get(TASKS, headers={"X-API-Key": tenant.api_key})
            assert blocked.status_code == 429  # the address is out of budget for everything
    finally:
        stop(server)
