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
