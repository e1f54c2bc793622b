"""Verified bearer tokens are remembered, yet a revoked grant, a disabled user, a revoked
client, expiry and a retired signing key each still end them at the next request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from tasktrack.domain.identity import Grant
from tasktrack.errors import Unauthenticated
from tasktrack.service import passwords
from tasktrack.service.identity import IdentityService
from tasktrack.service.oauth import OAuthService
from tasktrack.service.signing_keys import RELOAD_SECONDS, rotate_signing_key
from tasktrack.service.tokens import TokenPolicy
from tasktrack.storage.memory_identity import MemoryIdentityStore
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)
    yield


class CountingStore(MemoryIdentityStore):
    def __init__(self) -> None:
        super().__init__()
        self.grant_reads = 0

    async def active_grant(self, grant_id: str) -> Grant | None:
        self.grant_reads += 1
        return await super().active_grant(grant_id)


async def _setup(clock: FakeClock) -> tuple[CountingStore, IdentityService, OAuthService, str]:
    store = CountingStore()
    identity = IdentityService(store, clock)
    org, _ = await identity.ensure_default()
    user = await identity.create_user(org.id, "ann@a.test", PASSWORD)
    oauth = await OAuthService.open(store, TokenPolicy(access_ttl=60), clock)
    return store, identity, oauth, user.id


async def test_a_verified_token_is_not_read_again(clock: FakeClock) -> None:
    store, _, oauth, user_id = await _setup(clock)
    token = (await oauth.password_grant("ann@a.test", PASSWORD)).access_token
    for _ in range(4):
        assert (await oauth.verify_access_token(token)).user_id == user_id
    assert store.grant_reads == 1


async def test_a_remembered_token_still_expires(clock: FakeClock) -> None:
    _, _, oauth, _ = await _setup(clock)
    token = (await oauth.password_grant("ann@a.test", PASSWORD)).access_token
    await oauth.verify_access_token(token)
    clock.advance(60)
    with pytest.raises(Unauthenticated, match="expired"):
        await oauth.verify_access_token(token)


async def test_revoking_the_grant_elsewhere_ends_a_remembered_token(clock: FakeClock) -> None:
    store, _, api, _ = await _setup(clock)
    other = await OAuthService.open(store, TokenPolicy(access_ttl=60), clock)  # another process
    tokens = await api.password_grant("ann@a.test", PASSWORD)
    await api.verify_access_token(tokens.access_token)
    await other.revoke(tokens.refresh_token)
    with pytest.raises(Unauthenticated):
        await api.verify_access_token(tokens.access_token)


async def test_disabling_the_user_ends_a_remembered_token(clock: FakeClock) -> None:
    store, _, oauth, user_id = await _setup(clock)
    token = (await oauth.password_grant("ann@a.test", PASSWORD)).access_token
    await oauth.verify_access_token(token)
    await IdentityService(store, clock).disable_user(user_id)
    with pytest.raises(Unauthenticated):
        await oauth.verify_access_token(token)


async def test_a_retired_signing_key_ends_a_remembered_token(clock: FakeClock) -> None:
    store, _, oauth, _ = await _setup(clock)
    token = (await oauth.password_grant("ann@a.test", PASSWORD)).access_token
    await oauth.verify_access_token(token)
    await rotate_signing_key(store, 0, clock())  # the old key retires at once
    clock.advance(RELOAD_SECONDS)
    with pytest.raises(Unauthenticated):
        await oauth.verify_access_token(token)
