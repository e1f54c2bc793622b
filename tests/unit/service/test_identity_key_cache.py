"""Verified API keys are not read again until the identity data changes; a revocation, in
this service or another one on the same store (another process), acts from the next request."""

from __future__ import annotations

import pytest

from tasktrack.domain.identity import ApiKey
from tasktrack.errors import Unauthenticated
from tasktrack.service.identity import IdentityService
from tasktrack.storage.memory_identity import MemoryIdentityStore


class CountingStore(MemoryIdentityStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        self.lookups += 1
        return await super().get_api_key(key_id)


async def test_a_verified_key_is_read_once_and_the_secret_still_matters() -> None:
    store = CountingStore()
    identity = IdentityService(store)
    _, user = await identity.ensure_default()
    _, secret = await identity.create_api_key(user.id)
    for _ in range(5):
        assert (await identity.authenticate_api_key(secret)).user_id == user.id
    assert store.lookups == 1
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for _ in range(2):  # failures are never remembered: each one is checked (and counted)
        with pytest.raises(Unauthenticated):
            await identity.authenticate_api_key(wrong)
    assert store.lookups == 3


async def test_any_revocation_makes_every_key_be_read_again() -> None:
    store = CountingStore()
    identity = IdentityService(store)
    _, user = await identity.ensure_default()
    _, secret = await identity.create_api_key(user.id)
    other, _ = await identity.create_api_key(user.id)
    await identity.authenticate_api_key(secret)
    await identity.revoke_api_key(other.id)
    assert (await identity.authenticate_api_key(secret)).user_id == user.id
    assert store.lookups == 2


@pytest.mark.parametrize("key_cache_seconds", [0.0, 60.0])
async def test_a_key_revoked_elsewhere_is_refused_at_the_next_request(
    key_cache_seconds: float,
) -> None:
    # Two services on one store stand for two processes on one database.
    store = MemoryIdentityStore()
    api = IdentityService(store, key_cache_seconds=key_cache_seconds)
    cli = IdentityService(store)
    _, user = await api.ensure_default()
    key, secret = await cli.create_api_key(user.id)
    await api.authenticate_api_key(secret)
    await cli.revoke_api_key(key.id)
    with pytest.raises(Unauthenticated):
        await api.authenticate_api_key(secret)


async def test_disabling_the_user_ends_a_verified_key_at_once() -> None:
    store = MemoryIdentityStore()
    api, cli = IdentityService(store), IdentityService(store)
    org, _ = await api.ensure_default()
    user = await cli.create_user(org.id, "bob@b.test")
    _, secret = await cli.create_api_key(user.id)
    await api.authenticate_api_key(secret)
    await cli.disable_user(user.id)
    with pytest.raises(Unauthenticated):
        await api.authenticate_api_key(secret)
