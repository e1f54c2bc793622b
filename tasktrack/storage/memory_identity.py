"""The in-memory IdentityStore (per-instance state)."""

from __future__ import annotations

from dataclasses import replace

from tasktrack.domain.identity import ApiKey, Organisation, User
from tasktrack.errors import Conflict


class MemoryIdentityStore:
    """A :class:`~tasktrack.storage.base.IdentityStore` in dicts."""

    def __init__(self) -> None:
        self._orgs: dict[str, Organisation] = {}
        self._users: dict[str, User] = {}
        self._keys: dict[str, ApiKey] = {}

    async def create_organisation(self, org: Organisation) -> Organisation:
        if await self.find_organisation(org.name):
            raise Conflict(f"organisation {org.name!r} exists")
        self._orgs[org.id] = org
        return org

    async def get_organisation(self, org_id: str) -> Organisation | None:
        return self._orgs.get(org_id)

    async def find_organisation(self, name: str) -> Organisation | None:
        return next((o for o in self._orgs.values() if o.name == name), None)

    async def create_user(self, user: User) -> User:
        if await self.find_user(user.email):
            raise Conflict(f"user {user.email!r} exists")
        self._users[user.id] = user
        return user

    async def get_user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def find_user(self, email: str) -> User | None:
        return next((u for u in self._users.values() if u.email == email), None)

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        self._keys[key.id] = key
        return key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    async def revoke_api_key(self, key_id: str) -> bool:
        key = self._keys.get(key_id)
        if key is None or key.revoked:
            return False
        self._keys[key_id] = replace(key, revoked=True)
        return True
