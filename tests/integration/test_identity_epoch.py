"""The identity epoch on real databases: every change that can end a credential, made through
another connection (another process), moves it; on PostgreSQL it is None while the listener
is down, so no cache can outlive a notification it missed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tasktrack.domain.identity import ApiKey, Grant, OAuthClient, Organisation, User
from tasktrack.domain.ids import new_id
from tasktrack.storage.base import IdentityStore, Stores
from tasktrack.storage.factory import open_stores
from tests.integration.test_identity_store_contract import NOW, refresh

#: PostgreSQL: how long a NOTIFY may take to arrive (tests/integration/test_fast_read_revocation).
PG_BOUND = 2.0


@dataclass
class Pair:
    url: str
    api: Stores  # the process that caches
    other: Stores  # the process that revokes

    @property
    def bound(self) -> float:
        return PG_BOUND if self.url.startswith("postgres") else 0.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/tasks.db"
    else:
        url = str(request.getfixturevalue("pg_url"))
    api = await open_stores(url)
    other = await open_stores(url)
    try:
        yield Pair(url, api, other)
    finally:
        await other.close()
        await api.close()


async def _settled(store: IdentityStore) -> tuple[int, int]:
    """The epoch once there is one (PostgreSQL's listener connects on first use)."""
    deadline = time.monotonic() + 10
    while (epoch := await store.identity_epoch()) is None:
        assert time.monotonic() < deadline, "the listener never connected"
        await asyncio.sleep(0.01)
    return epoch


async def _moves_within(store: IdentityStore, before: tuple[int, int], bound: float) -> None:
    deadline = time.monotonic() + bound
    while (now := await store.identity_epoch()) in (before, None):
        assert time.monotonic() < deadline, f"the epoch did not move within {bound}s"
        await asyncio.sleep(0.01)
    assert now != before


async def _identities(store: IdentityStore) -> tuple[User, ApiKey, Grant, OAuthClient]:
    org = await store.create_organisation(Organisation(new_id(NOW), "acme", int(NOW)))
    user = await store.create_user(User(new_id(NOW), org.id, "ann@a.test", int(NOW)))
    key = await store.create_api_key(ApiKey(new_id(NOW), user.id, org.id, "d", int(NOW)))
    grant = Grant(new_id(NOW), user.id, org.id, int(NOW))
    await store.create_grant(grant, refresh(grant.id))
    client = OAuthClient(new_id(NOW), org.id, new_id(NOW), "h", int(NOW))
    service_user = User(client.user_id, org.id, f"{client.id}@x.test", int(NOW))
    await store.create_oauth_client(client, service_user)
    return user, key, grant, client


Change = Callable[[IdentityStore, User, ApiKey, Grant, OAuthClient], Awaitable[bool]]
CHANGES: dict[str, Change] = {
    "revoke key": lambda s, u, k, g, c: s.revoke_api_key(k.id),
    "revoke grant": lambda s, u, k, g, c: s.revoke_grant(g.id),
    "disable user": lambda s, u, k, g, c: s.disable_user(u.id),
    "revoke client": lambda s, u, k, g, c: s.revoke_oauth_client(c.id),
}


@pytest.mark.parametrize("change", CHANGES)
async def test_a_change_made_elsewhere_moves_the_epoch(pair: Pair, change: str) -> None:
    user, key, grant, client = await _identities(pair.other.identity)
    before = await _settled(pair.api.identity)
    assert await CHANGES[change](pair.other.identity, user, key, grant, client)
    await _moves_within(pair.api.identity, before, pair.bound)


async def test_a_change_made_here_moves_the_epoch_at_once(pair: Pair) -> None:
    key = (await _identities(pair.api.identity))[1]
    before = await _settled(pair.api.identity)
    assert await pair.api.identity.revoke_api_key(key.id)
    assert await pair.api.identity.identity_epoch() not in (before, None)


async def test_creating_credentials_and_tasks_keeps_the_cache(tmp_path: Path) -> None:
    # SQLite, where "not moved" can be checked without waiting: inserts are not revocations,
    # so a busy server's sign-ins and task writes do not empty the cache.
    url = f"sqlite:///{tmp_path}/tasks.db"
    api, other = await open_stores(url), await open_stores(url)
    try:
        before = await api.identity.identity_epoch()
        await _identities(other.identity)
        assert await api.identity.identity_epoch() == before
    finally:
        await other.close()
        await api.close()


@pytest.mark.postgres
async def test_no_epoch_while_the_listener_is_down(pg_url: str) -> None:
    stores = await open_stores(pg_url)
    try:
        before = await _settled(stores.identity)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
        deadline = time.monotonic() + 10
        while await stores.identity.identity_epoch() is not None:
            assert time.monotonic() < deadline, "the lost listener was not noticed"
            await asyncio.sleep(0.01)
        # Reconnected, it starts a new epoch: whatever it missed cannot be served from cache.
        assert await _settled(stores.identity) != before
    finally:
        await stores.close()
