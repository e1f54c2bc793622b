"""IdentityService: organisations, users, API keys and OAuth clients, and turning an API key
into a Principal.

API keys look like ``tt_<24-hex key id>_<43-char secret>``. The key id finds the row; only a
SHA-256 digest of the secret is stored and it is compared in constant time. A fast digest
is right here (unlike passwords): the secret is 256 random bits, so there is nothing to
brute-force offline, and a KDF would cost every request milliseconds.

Passwords and OAuth client secrets are hashed with argon2 (:mod:`tasktrack.service.passwords`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

from tasktrack.domain.identity import ApiKey, OAuthClient, Organisation, Principal, User
from tasktrack.domain.ids import is_valid_id, new_id
from tasktrack.errors import InvalidArgument, NotFound, Unauthenticated
from tasktrack.service.passwords import check_new_password, hash_secret
from tasktrack.service.verified import VerifiedCredentials
from tasktrack.storage.base import IdentityStore

DEFAULT_ORG = "default"
DEFAULT_USER = "admin@localhost"
_KEY = re.compile(r"tt_([0-9a-f]{24})_([A-Za-z0-9_-]{43})\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\Z")
#: Service users of OAuth clients get an address in a reserved domain (RFC 2606).
CLIENT_USER_DOMAIN = "clients.tasktrack.invalid"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """E-mails are stored and looked up lower-cased, so sign-in ignores case."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidArgument(f"not an e-mail address: {email[:60]!r}")
    return email


class IdentityService:
    """Manage identities and authenticate API keys.

    Args:
        store: where identities live.
        clock: the time source (tests pass a fake).
    """

    def __init__(
        self,
        store: IdentityStore,
        clock: Callable[[], float] = time.time,
        key_cache_seconds: float = 0.0,
    ) -> None:
        self.store = store
        self.clock = clock
        #: Key rows looked up within this many seconds are reused (see Settings).
        self.key_cache_seconds = key_cache_seconds
        self._keys: dict[str, tuple[float, ApiKey | None]] = {}
        self.verified = VerifiedCredentials(clock)

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

    async def find_organisation(self, ref: str) -> Organisation:
        """The organisation with id or name ``ref``; NotFound otherwise."""
        org = await self.store.get_organisation(ref) if is_valid_id(ref) else None
        org = org or await self.store.find_organisation(ref)
        if org is None:
            raise NotFound(f"no organisation {ref!r}")
        return org

    async def organisations(self) -> list[Organisation]:
        """Every organisation, oldest first."""
        return await self.store.list_organisations()

    async def users(self, org_ref: str | None = None) -> list[User]:
        """The users of the organisation ``org_ref`` (id or name; None: all), oldest first,
        without their password hashes."""
        return await self.store.list_users(await self._org_id(org_ref))

    async def api_keys(self, org_ref: str | None = None) -> list[ApiKey]:
        """API keys as :meth:`users` (without their secret hashes), revoked ones too."""
        return await self.store.list_api_keys(await self._org_id(org_ref))

    async def oauth_clients(self, org_ref: str | None = None) -> list[OAuthClient]:
        """OAuth clients as :meth:`api_keys`."""
        return await self.store.list_oauth_clients(await self._org_id(org_ref))

    async def _org_id(self, org_ref: str | None) -> str | None:
        return None if org_ref is None else (await self.find_organisation(org_ref)).id

    async def create_user(self, org_id: str, email: str, password: str | None = None) -> User:
        """A user of ``org_id``; without a password it can only use API keys."""
        if await self.store.get_organisation(org_id) is None:
            raise NotFound(f"organisation {org_id} not found")
        email = normalise_email(email)
        if email.endswith("@" + CLIENT_USER_DOMAIN):
            raise InvalidArgument(f"the domain {CLIENT_USER_DOMAIN} is reserved")
        password_hash = None
        if password is not None:
            check_new_password(password)
            password_hash = hash_secret(password)
        now = self.clock()
        return await self.store.create_user(
            User(new_id(now), org_id, email, int(now), password_hash)
        )

    async def find_user(self, ref: str) -> User:
        """The user with id or e-mail ``ref``; NotFound otherwise."""
        user = await self.store.get_user(ref) if is_valid_id(ref) else None
        user = user or await self.store.find_user(ref.strip().lower())
        if user is None:
            raise NotFound(f"no user {ref!r}")
        return user

    async def set_password(self, user_id: str, password: str) -> None:
        check_new_password(password)
        if not await self.store.set_password(user_id, hash_secret(password)):
            raise NotFound(f"user {user_id} not found")

    async def disable_user(self, user_id: str) -> None:
        """Disable a user: their API keys, OAuth grants (and so access tokens) stop working."""
        self._keys.clear()  # the user's keys stop at once in this process
        if not await self.store.disable_user(user_id):
            raise NotFound(f"no enabled user {user_id}")

    async def create_api_key(
        self, user_id: str, *, read_only: bool = False, label: str = ""
    ) -> tuple[ApiKey, str]:
        """Store a new key for ``user_id``; returns the row and the key (shown once)."""
        user = await self.store.get_user(user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        if user.disabled:
            raise InvalidArgument(f"user {user_id} is disabled")
        now = self.clock()
        secret = secrets.token_urlsafe(32)
        key = ApiKey(
            new_id(now), user.id, user.org_id, _digest(secret), int(now), read_only, False, label
        )
        await self.store.create_api_key(key)
        return key, f"tt_{key.id}_{secret}"

    async def revoke_api_key(self, key_id: str) -> None:
        self._keys.pop(key_id, None)
        if not await self.store.revoke_api_key(key_id):
            raise NotFound(f"no active API key {key_id}")

    async def authenticate_api_key(self, presented: str) -> Principal:
        """The Principal for a presented key, or Unauthenticated (one message for every cause).

        A key verified since the identity data last changed is not read again
        (:mod:`tasktrack.service.verified`); a revoked one is refused from the first request
        after the revocation commits, in any process (docs/fast-reads.md).
        """
        epoch = await self.store.identity_epoch()  # before verifying: see VerifiedCredentials
        principal = self.verified.get(presented, epoch)
        if principal is None:
            principal = await self._verify_key(presented, reuse_row=epoch is None)
            self.verified.put(presented, principal, epoch)
        return principal

    async def _verify_key(self, presented: str, reuse_row: bool) -> Principal:
        m = _KEY.match(presented)
        key = await self._key_row(m.group(1), reuse_row) if m else None
        # Compare even when the key is unknown, so timing does not tell the two apart.
        expected = key.secret_hash if key else _digest("")
        given = _digest(m.group(2)) if m else _digest("-")
        if not hmac.compare_digest(expected, given) or key is None or key.revoked:
            raise Unauthenticated("invalid API key")
        return Principal(key.user_id, key.org_id, key.read_only, "api_key")

    async def _key_row(self, key_id: str, reuse: bool) -> ApiKey | None:
        """The stored key row, reused for ``key_cache_seconds`` only while the store cannot
        tell when identities change (``reuse``: PostgreSQL's listener down); otherwise the
        verified-credential cache already spares the read, and exactly."""
        if self.key_cache_seconds <= 0 or not reuse:
            return await self.store.get_api_key(key_id)
        now = time.monotonic()
        cached = self._keys.get(key_id)
        if cached is not None and now - cached[0] < self.key_cache_seconds:
            return cached[1]
        key = await self.store.get_api_key(key_id)
        if len(self._keys) >= 10_000:  # bounded: a flood of unknown ids cannot grow it
            self._keys.clear()
        self._keys[key_id] = (now, key)
        return key

    async def create_oauth_client(
        self, org_id: str, *, name: str = "", read_only: bool = False
    ) -> tuple[OAuthClient, str]:
        """A confidential client of ``org_id`` with its own service user; returns the row and
        the client secret (shown once)."""
        if await self.store.get_organisation(org_id) is None:
            raise NotFound(f"organisation {org_id} not found")
        now = self.clock()
        client_id, user_id = new_id(now), new_id(now)
        secret = secrets.token_urlsafe(32)
        user = User(user_id, org_id, f"{client_id}@{CLIENT_USER_DOMAIN}", int(now))
        client = OAuthClient(
            client_id, org_id, user_id, hash_secret(secret), int(now), name, read_only
        )
        await self.store.create_oauth_client(client, user)
        return client, secret

    async def revoke_oauth_client(self, client_id: str) -> None:
        """Revoke a client: its secret and every token issued to it stop working."""
        if not await self.store.revoke_oauth_client(client_id):
            raise NotFound(f"no active OAuth client {client_id}")
