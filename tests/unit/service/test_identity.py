"""IdentityService on the memory store: users, passwords, API keys, OAuth clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from tasktrack.domain.identity import Principal
from tasktrack.errors import InvalidArgument, NotFound, Unauthenticated
from tasktrack.service import passwords
from tasktrack.service.identity import DEFAULT_ORG, DEFAULT_USER, IdentityService
from tasktrack.storage.memory_identity import MemoryIdentityStore


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2 with minimal cost: these tests check behaviour, not the work factor."""
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)
    yield


@pytest.fixture
def identity() -> IdentityService:
    return IdentityService(MemoryIdentityStore(), clock=lambda: 1_700_000_000.0)


async def test_ensure_default_creates_once(identity: IdentityService) -> None:
    org, user = await identity.ensure_default()
    assert (org.name, user.email, user.org_id) == (DEFAULT_ORG, DEFAULT_USER, org.id)
    assert await identity.ensure_default() == (org, user)


async def test_passwords_are_stored_as_argon2_hashes(identity: IdentityService) -> None:
    org, _ = await identity.ensure_default()
    user = await identity.create_user(org.id, " Ann@Example.TEST ", "correct horse")
    assert user.email == "ann@example.test"
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert passwords.verify_secret_sync(user.password_hash, "correct horse")
    assert not passwords.verify_secret_sync(user.password_hash, "correct horsE")
    assert not passwords.verify_secret_sync(None, "correct horse")


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("not-an-email", "long enough"),
        ("a@b", "short"),
        ("x@clients.tasktrack.invalid", "long enough"),
        ("a@b", "x" * 2000),
    ],
)
async def test_bad_users_are_refused(identity: IdentityService, email: str, password: str) -> None:
    org, _ = await identity.ensure_default()
    with pytest.raises(InvalidArgument):
        await identity.create_user(org.id, email, password)


async def test_find_by_id_or_name(identity: IdentityService) -> None:
    org, user = await identity.ensure_default()
    assert await identity.find_organisation(org.id) == org
    assert await identity.find_organisation(DEFAULT_ORG) == org
    assert await identity.find_user(user.id) == user
    assert await identity.find_user("ADMIN@localhost") == user
    with pytest.raises(NotFound):
        await identity.find_organisation("nope")
    with pytest.raises(NotFound):
        await identity.find_user("nobody@x.test")


async def test_api_keys_authenticate_until_revoked(identity: IdentityService) -> None:
    _, user = await identity.ensure_default()
    key, plaintext = await identity.create_api_key(user.id, read_only=True, label="ci")
    secret = plaintext.split("_", 2)[2]  # tt_<id>_<secret>: the secret may hold "_"
    assert secret not in key.secret_hash
    principal = await identity.authenticate_api_key(plaintext)
    assert principal == Principal(user.id, user.org_id, True, "api_key")
    await identity.revoke_api_key(key.id)
    with pytest.raises(Unauthenticated):
        await identity.authenticate_api_key(plaintext)
    with pytest.raises(NotFound):
        await identity.revoke_api_key(key.id)


@pytest.mark.parametrize("presented", ["", "tt_", "tt_" + "a" * 24 + "_" + "b" * 43, "garbage"])
async def test_malformed_and_unknown_keys_get_one_message(
    identity: IdentityService, presented: str
) -> None:
    with pytest.raises(Unauthenticated, match="invalid API key"):
        await identity.authenticate_api_key(presented)


async def test_disabling_a_user_stops_their_keys(identity: IdentityService) -> None:
    org, _ = await identity.ensure_default()
    user = await identity.create_user(org.id, "bob@example.test")
    _, plaintext = await identity.create_api_key(user.id)
    await identity.disable_user(user.id)
    with pytest.raises(Unauthenticated):
        await identity.authenticate_api_key(plaintext)
    with pytest.raises(InvalidArgument):
        await identity.create_api_key(user.id)
    with pytest.raises(NotFound):
        await identity.disable_user(user.id)


async def test_oauth_clients_get_a_hashed_secret_and_a_service_user(
    identity: IdentityService,
) -> None:
    org, _ = await identity.ensure_default()
    client, secret = await identity.create_oauth_client(org.id, name="ci", read_only=True)
    assert client.secret_hash.startswith("$argon2id$") and secret not in client.secret_hash
    assert passwords.verify_secret_sync(client.secret_hash, secret)
    service_user = await identity.store.get_user(client.user_id)
    assert service_user is not None
    assert (service_user.org_id, service_user.password_hash) == (org.id, None)
    await identity.revoke_oauth_client(client.id)
    with pytest.raises(NotFound):
        await identity.revoke_oauth_client(client.id)


async def test_set_password(identity: IdentityService) -> None:
    _, user = await identity.ensure_default()
    await identity.set_password(user.id, "a new password")
    stored = await identity.store.get_user(user.id)
    assert stored is not None and passwords.verify_secret_sync(
        stored.password_hash, "a new password"
    )
    with pytest.raises(InvalidArgument):
        await identity.set_password(user.id, "short")
