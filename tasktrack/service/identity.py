"""IdentityService: organisations, users and API keys, and turning credentials into a Principal.

API keys look like ``tt_<24-hex key id>_<43-char secret>``. The key id finds the row; only a
SHA-256 digest of the secret is stored and it is compared in constant time. A fast digest
is right here (unlike passwords): the secret is 256 random bits, so there is nothing to
brute-force offline, and a KDF would cost every request milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

from tasktrack.domain.identity import ApiKey, Organisation, Principal, User
from tasktrack.domain.ids import new_id
from tasktrack.errors import InvalidArgument, NotFound, Unauthenticated
from tasktrack.storage.base import IdentityStore

DEFAULT_ORG = "default"
DEFAULT_USER = "admin@localhost"
_KEY = re.compile(r"tt_([0-9a-f]{24})_([A-Za-z0-9_-]{43})\Z")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class IdentityService:
    """Manage identities and authenticate callers."""

    def __init__(self, store: IdentityStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def ensure_default(self) -> tuple[Organisation, User]:
        """The default organisation and user, created on first start so no set-up is needed."""
        org = await self.store.find_organisation(DEFAULT_ORG)
        if org is None:
            org = await self.create_organisation(DEFAULT_ORG)
        user = await self.store.find_user(DEFAULT_USER)
        if user is None:
            user = await self.create_user(org.id, DEFAULT_USER)
        return org, user

    async def create_organisation(self, name: str) -> Organisation:
        if not name.strip():
            raise InvalidArgument("an organisation needs a name")
        now = self.clock()
        return await self.store.create_organisation(Organisation(new_id(now), name, int(now)))

    async def create_user(self, org_id: str, email: str, password_hash: str | None = None) -> User:
        if await self.store.get_organisation(org_id) is None:
            raise NotFound(f"organisation {org_id} not found")
        now = self.clock()
        return await self.store.create_user(
            User(new_id(now), org_id, email, int(now), password_hash)
        )

    async def create_api_key(
        self, user_id: str, *, read_only: bool = False, label: str = ""
    ) -> tuple[ApiKey, str]:
        """Store a new key for ``user_id``; returns the row and the key (shown once)."""
        user = await self.store.get_user(user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        now = self.clock()
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            new_id(now), user.id, user.org_id, _digest(secret), int(now), read_only, False, label
        )
        await self.store.create_api_key(key)
        return key, f"tt_{key.id}_{secret}"

    async def revoke_api_key(self, key_id: str) -> None:
        if not await self.store.revoke_api_key(key_id):
            raise NotFound(f"no active API key {key_id}")

    async def authenticate_api_key(self, presented: str) -> Principal:
        """The Principal for a presented key, or Unauthenticated (one message for every cause)."""
        m = _KEY.match(presented)
        key = await self.store.get_api_key(m.group(1)) if m else None
        # Compare even when the key is unknown, so timing does not tell the two apart.
        expected = key.secret_hash if key else _digest("")
        given = _digest(m.group(2)) if m else _digest("-")
        if not hmac.compare_digest(expected, given) or key is None or key.revoked:
            raise Unauthenticated("invalid API key")
        return Principal(key.user_id, key.org_id, key.read_only, "api_key")
