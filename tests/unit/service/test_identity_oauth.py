"""OAuthService on the memory store and a fake clock: grants, rotation, expiry, revocation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import pytest
from argon2 import PasswordHasher

from tasktrack.domain.identity import Principal
from tasktrack.errors import Unauthenticated
from tasktrack.service import passwords
from tasktrack.service.identity import IdentityService
from tasktrack.service.oauth import ClientAuth, OAuthError, OAuthService
from tasktrack.service.tokens import SIGNING_KEY_NAME, TokenPolicy
from tasktrack.storage.memory_identity import MemoryIdentityStore
from tests.conftest import FakeClock

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)
    yield


@dataclass
class World:
    store: MemoryIdentityStore
    identity: IdentityService
    oauth: OAuthService
    clock: FakeClock
    org_id: str
    user_id: str
    client: ClientAuth
    client_user_id: str


@pytest.fixture
async def world(clock: FakeClock) -> World:
    store = MemoryIdentityStore()
    identity = IdentityService(store, clock)
    org, _ = await identity.ensure_default()
    user = await identity.create_user(org.id, "ann@a.test", PASSWORD)
    client, secret = await identity.create_oauth_client(org.id, name="ci")
    oauth = await OAuthService.open(store, TokenPolicy(access_ttl=60, refresh_ttl=3600), clock)
    return World(
        store,
        identity,
        oauth,
        clock,
        org.id,
        user.id,
        ClientAuth(client.id, secret),
        client.user_id,
    )


async def test_password_grant_gives_a_bearer_for_the_users_organisation(world: World) -> None:
    tokens = await world.oauth.password_grant("ANN@a.test", PASSWORD, world.client)
    assert (tokens.token_type, tokens.expires_in) == ("Bearer", 60)
    principal = await world.oauth.verify_access_token(tokens.access_token)
    assert principal == Principal(world.user_id, world.org_id, False, "bearer")
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert {"exp", "iat", "sub", "org", "jti"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 60


async def test_password_grant_works_without_client_authentication(world: World) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    assert (await world.oauth.verify_access_token(tokens.access_token)).user_id == world.user_id


@pytest.mark.parametrize(
    ("username", "password"), [("ann@a.test", "wrong password"), ("nobody@a.test", PASSWORD)]
)
async def test_wrong_password_and_unknown_user_look_the_same(
    world: World, username: str, password: str
) -> None:
    with pytest.raises(OAuthError) as caught:
        await world.oauth.password_grant(username, password)
    assert (caught.value.error, caught.value.message) == (
        "invalid_grant",
        "wrong username or password",
    )


async def test_a_disabled_user_cannot_sign_in_and_loses_live_tokens(world: World) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    await world.identity.disable_user(world.user_id)
    with pytest.raises(Unauthenticated):
        await world.oauth.verify_access_token(tokens.access_token)
    with pytest.raises(OAuthError, match="wrong username"):
        await world.oauth.password_grant("ann@a.test", PASSWORD)
    with pytest.raises(OAuthError) as caught:
        await world.oauth.refresh_grant(tokens.refresh_token)
    assert caught.value.error == "invalid_grant"


@pytest.mark.parametrize(
    "client",
    [
        ClientAuth("0" * 24, "whatever"),
        ClientAuth("not-an-id", "whatever"),
    ],
)
async def test_unknown_clients_are_invalid_client(world: World, client: ClientAuth) -> None:
    with pytest.raises(OAuthError) as caught:
        await world.oauth.client_credentials_grant(client)
    assert caught.value.error == "invalid_client"


async def test_wrong_client_secret_is_invalid_client(world: World) -> None:
    bad = ClientAuth(world.client.client_id, world.client.client_secret + "x")
    for attempt in (
        world.oauth.client_credentials_grant(bad),
        world.oauth.password_grant("ann@a.test", PASSWORD, bad),
    ):
        with pytest.raises(OAuthError) as caught:
            await attempt
        assert caught.value.error == "invalid_client"


async def test_client_credentials_need_a_client(world: World) -> None:
    with pytest.raises(OAuthError) as caught:
        await world.oauth.client_credentials_grant(None)
    assert caught.value.error == "invalid_client"


async def test_client_credentials_act_as_the_clients_service_user(world: World) -> None:
    tokens = await world.oauth.client_credentials_grant(world.client)
    principal = await world.oauth.verify_access_token(tokens.access_token)
    assert principal == Principal(world.client_user_id, world.org_id, False, "bearer")


async def test_read_only_clients_get_read_only_tokens(world: World) -> None:
    client, secret = await world.identity.create_oauth_client(world.org_id, read_only=True)
    auth = ClientAuth(client.id, secret)
    for tokens in (
        await world.oauth.client_credentials_grant(auth),
        await world.oauth.password_grant("ann@a.test", PASSWORD, auth),
    ):
        assert (await world.oauth.verify_access_token(tokens.access_token)).read_only


async def test_a_client_cannot_sign_in_users_of_another_organisation(world: World) -> None:
    other = await world.identity.create_organisation("other")
    client, secret = await world.identity.create_oauth_client(other.id)
    with pytest.raises(OAuthError) as caught:
        await world.oauth.password_grant("ann@a.test", PASSWORD, ClientAuth(client.id, secret))
    assert caught.value.error == "invalid_grant"


async def test_access_tokens_expire_on_the_clock(world: World) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    world.clock.advance(59)
    await world.oauth.verify_access_token(tokens.access_token)
    world.clock.advance(1)
    with pytest.raises(Unauthenticated, match="expired"):
        await world.oauth.verify_access_token(tokens.access_token)


async def test_forged_and_tampered_tokens_are_refused(world: World) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    other_key = jwt.encode(claims, "x" * 64, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    head, _body, sig = tokens.access_token.split(".")
    elevated = jwt.encode({**claims, "org": "f" * 24}, "y" * 64, algorithm="HS256").split(".")[1]
    for forged in (
        other_key,
        unsigned,
        f"{head}.{elevated}.{sig}",
        "not.a.jwt",
        tokens.refresh_token,
    ):
        with pytest.raises(Unauthenticated):
            await world.oauth.verify_access_token(forged)


async def test_the_signing_key_persists_in_the_store(world: World) -> None:
    stored = await world.store.server_secret(SIGNING_KEY_NAME, "unused")
    assert len(stored) >= 64
    second = await OAuthService.open(world.store, clock=world.clock)
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    assert (await second.verify_access_token(tokens.access_token)).user_id == world.user_id


async def test_refresh_rotates_and_the_old_token_stops_working(world: World) -> None:
    first = await world.oauth.password_grant("ann@a.test", PASSWORD, world.client)
    world.clock.advance(120)  # the access token has expired; the refresh token has not
    second = await world.oauth.refresh_grant(first.refresh_token, world.client)
    assert second.refresh_token != first.refresh_token
    assert (await world.oauth.verify_access_token(second.access_token)).user_id == world.user_id
    third = await world.oauth.refresh_grant(second.refresh_token, world.client)
    await world.oauth.verify_access_token(third.access_token)


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_grant(world: World) -> None:
    first = await world.oauth.password_grant("ann@a.test", PASSWORD)
    second = await world.oauth.refresh_grant(first.refresh_token)
    with pytest.raises(OAuthError, match="reused"):
        await world.oauth.refresh_grant(first.refresh_token)
    with pytest.raises(Unauthenticated, match="revoked"):
        await world.oauth.verify_access_token(second.access_token)
    with pytest.raises(OAuthError) as caught:
        await world.oauth.refresh_grant(second.refresh_token)
    assert caught.value.error == "invalid_grant"


async def test_refresh_tokens_expire(world: World) -> None:
    first = await world.oauth.password_grant("ann@a.test", PASSWORD)
    world.clock.advance(3600)
    with pytest.raises(OAuthError) as caught:
        await world.oauth.refresh_grant(first.refresh_token)
    assert caught.value.error == "invalid_grant"


async def test_a_refresh_token_is_bound_to_its_client(world: World) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD, world.client)
    other, secret = await world.identity.create_oauth_client(world.org_id)
    for client in (None, ClientAuth(other.id, secret)):
        # The same words as an unknown token: the wrong client learns nothing about it.
        with pytest.raises(OAuthError, match="invalid, expired or revoked"):
            await world.oauth.refresh_grant(tokens.refresh_token, client)


@pytest.mark.parametrize("garbage", ["", "ttr_x", "ttr_" + "a" * 24 + "_" + "b" * 43])
async def test_malformed_refresh_tokens_are_invalid_grant(world: World, garbage: str) -> None:
    with pytest.raises(OAuthError) as caught:
        await world.oauth.refresh_grant(garbage)
    assert caught.value.error == "invalid_grant"


async def test_a_tampered_refresh_token_secret_is_refused(world: World) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    tampered = tokens.refresh_token[:-1] + ("A" if tokens.refresh_token[-1] != "A" else "B")
    with pytest.raises(OAuthError):
        await world.oauth.refresh_grant(tampered)
    # The genuine token still works: a wrong guess does not burn it.
    await world.oauth.refresh_grant(tokens.refresh_token)


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
async def test_revoking_either_token_ends_the_grant(world: World, which: str) -> None:
    tokens = await world.oauth.password_grant("ann@a.test", PASSWORD)
    await world.oauth.revoke(getattr(tokens, which))
    with pytest.raises(Unauthenticated):
        await world.oauth.verify_access_token(tokens.access_token)
    with pytest.raises(OAuthError):
        await world.oauth.refresh_grant(tokens.refresh_token)


async def test_revoking_unknown_tokens_is_silent(world: World) -> None:
    for token in ("", "garbage", "ttr_" + "a" * 24 + "_" + "b" * 43):
        await world.oauth.revoke(token)


async def test_revoking_the_client_ends_its_tokens(world: World) -> None:
    own = await world.oauth.client_credentials_grant(world.client)
    users = await world.oauth.password_grant("ann@a.test", PASSWORD, world.client)
    await world.identity.revoke_oauth_client(world.client.client_id)
    for tokens in (own, users):
        with pytest.raises(Unauthenticated):
            await world.oauth.verify_access_token(tokens.access_token)
    with pytest.raises(OAuthError) as caught:
        await world.oauth.client_credentials_grant(world.client)
    assert caught.value.error == "invalid_client"
