"""The in-memory IdentityStore (per-instance state).

No method awaits between reading and writing, so each one is atomic on the event loop, which
is what the SQLite store gets from running each change in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from tasktrack.domain.identity import (
    ApiKey,
    Grant,
    OAuthClient,
    Organisation,
    RefreshToken,
    User,
)
from tasktrack.errors import Conflict


class MemoryIdentityStore:
    """A :class:`~tasktrack.storage.base.IdentityStore` in dicts."""

    def __init__(self) -> None:
        self._orgs: dict[str, Organisation] = {}
        self._users: dict[str, User] = {}
        self._keys: dict[str, ApiKey] = {}
        self._clients: dict[str, OAuthClient] = {}
        self._grants: dict[str, Grant] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._secrets: dict[str, str] = {}
        self._changes = 0  # moved by every revocation (see IdentityStore.identity_epoch)

    async def create_organisation(self, org: Organisation) -> Organisation:
        if await self.find_organisation(org.name) or org.id in self._orgs:
            raise Conflict(f"organisation {org.name!r} exists")
        self._orgs[org.id] = org
        return org

    async def get_organisation(self, org_id: str) -> Organisation | None:
        return self._orgs.get(org_id)

    async def find_organisation(self, name: str) -> Organisation | None:
        return next((o for o in self._orgs.values() if o.name == name), None)

    async def list_organisations(self) -> list[Organisation]:
        return sorted(self._orgs.values(), key=lambda o: (o.created_at, o.id))

    async def list_users(self, org_id: str | None = None) -> list[User]:
        found = _of(self._users.values(), org_id)
        return [replace(u, password_hash=None if u.password_hash is None else "") for u in found]

    async def list_api_keys(self, org_id: str | None = None) -> list[ApiKey]:
        return [replace(k, secret_hash="") for k in _of(self._keys.values(), org_id)]

    async def list_oauth_clients(self, org_id: str | None = None) -> list[OAuthClient]:
        return [replace(c, secret_hash="") for c in _of(self._clients.values(), org_id)]

    def _check_new_user(self, user: User) -> None:
        if any(u.email == user.email for u in self._users.values()) or user.id in self._users:
            raise Conflict(f"user {user.email!r} exists")

    async def create_user(self, user: User) -> User:
        self._check_new_user(user)
        self._users[user.id] = user
        return user

    async def get_user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def find_user(self, email: str) -> User | None:
        return next((u for u in self._users.values() if u.email == email), None)

    async def set_password(self, user_id: str, password_hash: str | None) -> bool:
        user = self._users.get(user_id)
        if user is None:
            return False
        self._users[user_id] = replace(user, password_hash=password_hash)
        return True

    async def disable_user(self, user_id: str) -> bool:
        self._changes += 1
        user = self._users.get(user_id)
        if user is None or user.disabled:
            return False
        self._users[user_id] = replace(user, disabled=True)
        self._revoke_everything_of(user_id)
        return True

    def _revoke_everything_of(self, user_id: str) -> None:
        for key in [k for k in self._keys.values() if k.user_id == user_id]:
            self._keys[key.id] = replace(key, revoked=True)
        for client in [c for c in self._clients.values() if c.user_id == user_id]:
            self._clients[client.id] = replace(client, revoked=True)
        for grant in [g for g in self._grants.values() if g.user_id == user_id]:
            self._grants[grant.id] = replace(grant, revoked=True)

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        if key.id in self._keys:
            raise Conflict("api key exists")
        self._keys[key.id] = key
        return key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def revoke_api_key(self, key_id: str) -> bool:
        self._changes += 1
        key = self._keys.get(key_id)
        if key is None or key.revoked:
            return False
        self._keys[key_id] = replace(key, revoked=True)
        return True

    async def create_oauth_client(self, client: OAuthClient, service_user: User) -> OAuthClient:
        if client.id in self._clients:
            raise Conflict(f"OAuth client {client.id} exists")
        self._check_new_user(service_user)
        self._users[service_user.id] = service_user
        self._clients[client.id] = client
        return client

    async def get_oauth_client(self, client_id: str) -> OAuthClient | None:
        return self._clients.get(client_id)

    async def revoke_oauth_client(self, client_id: str) -> bool:
        self._changes += 1
        client = self._clients.get(client_id)
        if client is None or client.revoked:
            return False
        self._clients[client_id] = replace(client, revoked=True)
        user = self._users.get(client.user_id)
        if user is not None:
            self._users[user.id] = replace(user, disabled=True)
        self._revoke_everything_of(client.user_id)
        for grant in [g for g in self._grants.values() if g.client_id == client_id]:
            self._grants[grant.id] = replace(grant, revoked=True)
        return True

    async def create_grant(self, grant: Grant, first: RefreshToken) -> Grant:
        if grant.id in self._grants or first.id in self._refresh:
            raise Conflict("grant exists")
        self._grants[grant.id] = grant
        self._refresh[first.id] = first
        return grant

    async def active_grant(self, grant_id: str) -> Grant | None:
        grant = self._grants.get(grant_id)
        if grant is None or grant.revoked:
            return None
        user = self._users.get(grant.user_id)
        if user is None or user.disabled:
            return None
        return grant

    async def revoke_grant(self, grant_id: str) -> bool:
        self._changes += 1
        grant = self._grants.get(grant_id)
        if grant is None or grant.revoked:
            return False
        self._grants[grant_id] = replace(grant, revoked=True)
        return True

    async def identity_epoch(self) -> tuple[int, int] | None:
        return (0, self._changes)

    async def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        return self._refresh.get(token_id)

    async def rotate_refresh_token(self, token_id: str, successor: RefreshToken) -> bool:
        old = self._refresh.get(token_id)
        if old is None or old.used or old.expires_at <= successor.created_at:
            return False
        if successor.id in self._refresh:
            raise Conflict("refresh token exists")
        self._refresh[token_id] = replace(old, used=True)
        self._refresh[successor.id] = successor
        return True

    async def server_secret(self, name: str, candidate: str) -> str:
        return self._secrets.setdefault(name, candidate)

    async def put_server_secrets(self, values: Mapping[str, str]) -> None:
        self._secrets.update(values)


_Owned = TypeVar("_Owned", User, ApiKey, OAuthClient)


def _of(records: Iterable[_Owned], org_id: str | None) -> list[_Owned]:
    """``records`` of ``org_id`` (None: all), oldest first."""
    found = [r for r in records if org_id is None or r.org_id == org_id]
    return sorted(found, key=lambda r: (r.created_at, r.id))
