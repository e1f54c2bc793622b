"""The IdentityStore contract: memory and SQLite behave the same (via the ``stores`` fixture)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tasktrack.domain.identity import (
    ApiKey,
    Grant,
    OAuthClient,
    Organisation,
    RefreshToken,
    User,
)
from tasktrack.domain.ids import new_id
from tasktrack.errors import Conflict
from tasktrack.storage.base import IdentityStore, Stores
from tasktrack.storage.factory import open_stores

NOW = 1_700_000_000.0


async def org_and_user(store: IdentityStore, email: str = "ann@a.test") -> tuple[str, str]:
    org = await store.create_organisation(Organisation(new_id(NOW), f"org-{email}", int(NOW)))
    user = await store.create_user(User(new_id(NOW), org.id, email, int(NOW), "hash"))
    return org.id, user.id


def refresh(grant_id: str, expires: float = NOW + 100, token_id: str | None = None) -> RefreshToken:
    return RefreshToken(token_id or new_id(NOW), grant_id, "digest", NOW, expires)


async def new_grant(store: IdentityStore, user_id: str, org_id: str, **kw: object) -> Grant:
    grant = Grant(new_id(NOW), user_id, org_id, int(NOW), **kw)  # type: ignore[arg-type]
    return await store.create_grant(grant, refresh(grant.id))


def key(user_id: str, org_id: str) -> ApiKey:
    return ApiKey(new_id(NOW), user_id, org_id, "digest", int(NOW))


async def test_organisations_round_trip_and_names_are_unique(stores: Stores) -> None:
    store = stores.identity
    org = await store.create_organisation(Organisation(new_id(NOW), "acme", int(NOW)))
    assert await store.get_organisation(org.id) == org
    assert await store.find_organisation("acme") == org
    assert await store.find_organisation("other") is None
    with pytest.raises(Conflict):
        await store.create_organisation(Organisation(new_id(NOW), "acme", int(NOW)))


async def test_users_round_trip_and_emails_are_unique_across_organisations(
    stores: Stores,
) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    user = await store.get_user(user_id)
    assert user == User(user_id, org_id, "ann@a.test", int(NOW), "hash", False)
    assert await store.find_user("ann@a.test") == user
    other = await store.create_organisation(Organisation(new_id(NOW), "other", int(NOW)))
    with pytest.raises(Conflict):
        await store.create_user(User(new_id(NOW), other.id, "ann@a.test", int(NOW)))


async def test_set_password_replaces_the_hash(stores: Stores) -> None:
    store = stores.identity
    _, user_id = await org_and_user(store)
    assert await store.set_password(user_id, "new-hash")
    user = await store.get_user(user_id)
    assert user is not None and user.password_hash == "new-hash"
    assert not await store.set_password(new_id(NOW), "x")


async def test_disable_user_revokes_keys_grants_and_clients_acting_as_them(
    stores: Stores,
) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    _, bystander = await org_and_user(store, "bob@b.test")
    mine, theirs = key(user_id, org_id), key(bystander, org_id)
    for k in (mine, theirs):
        await store.create_api_key(k)
    grant = await new_grant(store, user_id, org_id)
    other_grant = await new_grant(store, bystander, org_id)

    assert await store.disable_user(user_id)
    assert not await store.disable_user(user_id)  # already disabled
    user = await store.get_user(user_id)
    assert user is not None and user.disabled
    assert (await store.get_api_key(mine.id)).revoked  # type: ignore[union-attr]
    assert not (await store.get_api_key(theirs.id)).revoked  # type: ignore[union-attr]
    assert await store.active_grant(grant.id) is None
    assert await store.active_grant(other_grant.id) == other_grant


async def test_active_grant_is_none_once_revoked(stores: Stores) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    grant = await new_grant(store, user_id, org_id, read_only=True)
    assert await store.active_grant(grant.id) == grant
    assert await store.revoke_grant(grant.id)
    assert not await store.revoke_grant(grant.id)
    assert await store.active_grant(grant.id) is None
    assert await store.active_grant(new_id(NOW)) is None


async def test_oauth_client_is_created_with_its_service_user(stores: Stores) -> None:
    store = stores.identity
    org_id, _ = await org_and_user(store)
    service = User(new_id(NOW), org_id, "svc@clients.test", int(NOW))
    client = OAuthClient(new_id(NOW), org_id, service.id, "argon", int(NOW), "ci", True)
    assert await store.create_oauth_client(client, service) == client
    assert await store.get_oauth_client(client.id) == client
    assert await store.get_user(service.id) == service
    assert await store.get_oauth_client(new_id(NOW)) is None


async def test_a_failed_client_insert_leaves_no_service_user(stores: Stores) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    taken = await store.get_user(user_id)
    assert taken is not None
    clash = User(new_id(NOW), org_id, taken.email, int(NOW))  # e-mail already in use
    client = OAuthClient(new_id(NOW), org_id, clash.id, "argon", int(NOW))
    with pytest.raises(Conflict):
        await store.create_oauth_client(client, clash)
    assert await store.get_oauth_client(client.id) is None
    assert await store.get_user(clash.id) is None


async def test_revoking_a_client_ends_its_grants_and_service_user(stores: Stores) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    service = User(new_id(NOW), org_id, "svc@clients.test", int(NOW))
    client = OAuthClient(new_id(NOW), org_id, service.id, "argon", int(NOW))
    await store.create_oauth_client(client, service)
    as_client = await new_grant(store, service.id, org_id, client_id=client.id)
    user_via_client = await new_grant(store, user_id, org_id, client_id=client.id)
    user_direct = await new_grant(store, user_id, org_id)

    assert await store.revoke_oauth_client(client.id)
    assert not await store.revoke_oauth_client(client.id)
    assert (await store.get_oauth_client(client.id)).revoked  # type: ignore[union-attr]
    assert (await store.get_user(service.id)).disabled  # type: ignore[union-attr]
    assert await store.active_grant(as_client.id) is None
    assert await store.active_grant(user_via_client.id) is None
    assert await store.active_grant(user_direct.id) == user_direct


async def test_rotation_marks_the_old_token_used_and_stores_the_successor(
    stores: Stores,
) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    grant = Grant(new_id(NOW), user_id, org_id, int(NOW))
    first = refresh(grant.id)
    await store.create_grant(grant, first)
    assert await store.get_refresh_token(first.id) == first

    second = RefreshToken(new_id(NOW), grant.id, "digest2", NOW + 10, NOW + 200)
    assert await store.rotate_refresh_token(first.id, second)
    assert (await store.get_refresh_token(first.id)).used  # type: ignore[union-attr]
    assert await store.get_refresh_token(second.id) == second

    third = RefreshToken(new_id(NOW), grant.id, "digest3", NOW + 20, NOW + 300)
    assert not await store.rotate_refresh_token(first.id, third)  # used already
    assert await store.get_refresh_token(third.id) is None


async def test_rotation_refuses_an_expired_token(stores: Stores) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    grant = Grant(new_id(NOW), user_id, org_id, int(NOW))
    first = refresh(grant.id, expires=NOW + 5)
    await store.create_grant(grant, first)
    late = RefreshToken(new_id(NOW), grant.id, "d", NOW + 5, NOW + 100)
    assert not await store.rotate_refresh_token(first.id, late)
    assert not (await store.get_refresh_token(first.id)).used  # type: ignore[union-attr]


async def test_concurrent_rotations_of_one_token_let_exactly_one_win(stores: Stores) -> None:
    store = stores.identity
    org_id, user_id = await org_and_user(store)
    grant = Grant(new_id(NOW), user_id, org_id, int(NOW))
    first = refresh(grant.id)
    await store.create_grant(grant, first)
    successors = [RefreshToken(new_id(NOW), grant.id, "d", NOW + 1, NOW + 99) for _ in range(8)]
    results = await asyncio.gather(*(store.rotate_refresh_token(first.id, s) for s in successors))
    assert sorted(results) == [False] * 7 + [True]


async def test_server_secret_keeps_the_first_value(stores: Stores) -> None:
    store = stores.identity
    assert await store.server_secret("k", "first") == "first"
    assert await store.server_secret("k", "second") == "first"
    assert await store.server_secret("other", "x") == "x"


async def test_put_server_secrets_replaces_and_adds_together(stores: Stores) -> None:
    store = stores.identity
    await store.server_secret("k", "first")
    await store.put_server_secrets({"k": "second", "new": "n"})
    assert await store.server_secret("k", "x") == "second"
    assert await store.server_secret("new", "x") == "n"


async def test_server_secret_is_shared_by_processes_on_one_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    a, b = await open_stores(url), await open_stores(url)
    try:
        values = await asyncio.gather(
            a.identity.server_secret("key", "from-a"), b.identity.server_secret("key", "from-b")
        )
        assert values[0] == values[1]
        reopened = await open_stores(url)
        try:
            assert await reopened.identity.server_secret("key", "late") == values[0]
        finally:
            await reopened.close()
    finally:
        await a.close()
        await b.close()


async def test_listings_are_per_organisation_oldest_first_and_never_hold_a_hash(
    stores: Stores,
) -> None:
    store = stores.identity
    org_a, ann = await org_and_user(store, "ann@a.test")
    org_b, bob = await org_and_user(store, "bob@b.test")
    keys = [await store.create_api_key(key(ann, org_a)) for _ in range(2)]
    await store.create_api_key(key(bob, org_b))
    service = User(new_id(NOW), org_a, "svc@a.test", int(NOW))
    client = OAuthClient(new_id(NOW), org_a, service.id, "client-hash", int(NOW), "ci")
    await store.create_oauth_client(client, service)

    assert [o.id for o in await store.list_organisations()] == [org_a, org_b]
    users = await store.list_users(org_a)
    assert [u.email for u in users] == ["ann@a.test", "svc@a.test"]
    assert [u.password_hash for u in users] == ["", None]  # has one / has none; never the hash
    assert len(await store.list_users()) == 3
    listed = await store.list_api_keys(org_a)
    assert [k.id for k in listed] == [k.id for k in keys]
    assert {k.secret_hash for k in listed} == {""}
    assert len(await store.list_api_keys()) == 3
    (found,) = await store.list_oauth_clients(org_a)
    assert (found.id, found.name, found.secret_hash) == (client.id, "ci", "")
    assert await store.list_oauth_clients(org_b) == []
