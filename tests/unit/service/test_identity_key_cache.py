"""The opt-in API key row cache: fewer lookups, but an in-process revoke still acts at once."""

from __future__ import annotations

import pytest

from tasktrack.errors import Unauthenticated
from tasktrack.service.identity import IdentityService
from tasktrack.storage.memory_identity import MemoryIdentityStore


class CountingStore(MemoryIdentityStore):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    async def get_api_key(self, key_id: str):  # type: ignore[no-untyped-def]
        self.lookups += 1
        return await super().get_api_key(key_id)


async def test_cached_rows_are_reused_and_revoke_in_process_is_immediate() -> None:
    store = CountingStore()
    identity = IdentityService(store, key_cache_seconds=60)
    _, user = await identity.ensure_default()
    key, secret = await identity.create_api_key(user.id)
    for _ in range(5):
        assert (await identity.authenticate_api_key(secret)).user_id == user.id
    assert store.lookups == 1
    # The secret is still checked on every request, cached row or not.
    with pytest.raises(Unauthenticated):
        await identity.authenticate_api_key(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    await identity.revoke_api_key(key.id)
    with pytest.raises(Unauthenticated):
        await identity.authenticate_api_key(secret)


async def test_without_the_cache_every_request_looks_up() -> None:
    store = CountingStore()
    identity = IdentityService(store)
    _, user = await identity.ensure_default()
    _, secret = await identity.create_api_key(user.id)
    for _ in range(3):
        await identity.authenticate_api_key(secret)
    assert store.lookups == 3


async def test_a_key_revoked_elsewhere_stops_once_the_cache_period_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two services on one store stand for two processes on one database.
    now = [1000.0]
    monkeypatch.setattr("tasktrack.service.identity.time.monotonic", lambda: now[0])
    store = MemoryIdentityStore()
    api = IdentityService(store, key_cache_seconds=5)
    cli = IdentityService(store)
    _, user = await api.ensure_default()
    key, secret = await cli.create_api_key(user.id)
    await api.authenticate_api_key(secret)
    await cli.revoke_api_key(key.id)
    now[0] += 4.9  # within the documented bound the cached row may still answer
    assert (await api.authenticate_api_key(secret)).user_id == user.id
    now[0] += 0.2  # past it, the revocation holds everywhere
    with pytest.raises(Unauthenticated):
        await api.authenticate_api_key(secret)
