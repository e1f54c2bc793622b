"""A running server picks up ``tasktrack secret rotate`` by itself: within RELOAD_SECONDS it
signs with the new key, and tokens signed with the old one stay valid until the old key
retires (memory store, fake clock)."""

from __future__ import annotations

import jwt
import pytest

from tasktrack.errors import Unauthenticated
from tasktrack.service.oauth import OAuthService
from tasktrack.service.signing_keys import RELOAD_SECONDS, load_signing_keys, rotate_signing_key
from tasktrack.service.tokens import TokenPolicy
from tasktrack.storage.memory_identity import MemoryIdentityStore
from tests.conftest import FakeClock

TTL = 60.0
KEEP = TTL + 2 * RELOAD_SECONDS


async def test_a_running_service_follows_a_rotation(clock: FakeClock) -> None:
    store = MemoryIdentityStore()
    oauth = await OAuthService.open(store, TokenPolicy(access_ttl=TTL), clock)
    old_key = (await load_signing_keys(store, clock())).current
    signed_before = oauth.access.issue("u" * 24, "o" * 24, "g" * 24)
    await rotate_signing_key(store, KEEP, clock())
    new_key = (await load_signing_keys(store, clock())).current
    # Until it re-reads the keys, the service still signs with the old one...
    not_yet = (await oauth._fresh_keys()).issue("u" * 24, "o" * 24, "g" * 24)
    assert _signed_with(not_yet, old_key)
    clock.advance(RELOAD_SECONDS)
    access = await oauth._fresh_keys()
    assert _signed_with(access.issue("u" * 24, "o" * 24, "g" * 24), new_key)
    # ...and a token signed with the old key still verifies, until that key retires.
    assert access.verify(signed_before, allow_expired=True).user_id == "u" * 24
    clock.advance(KEEP)
    access = await oauth._fresh_keys()
    with pytest.raises(Unauthenticated):
        access.verify(signed_before, allow_expired=True)


def _signed_with(token: str, key: str) -> bool:
    try:
        jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False})
    except jwt.InvalidSignatureError:
        return False
    return True
