"""OAuthService: the OAuth 2.0 grants (RFC 6749) and bearer-token verification.

Grants: ``password`` (a user by e-mail), ``client_credentials`` (an OAuth client, acting as
its own service user) and ``refresh_token``. Each successful password or client-credentials
exchange starts a *grant*; its refresh tokens rotate on every use, and presenting a used one
again revokes the whole grant (the OAuth 2.0 Security BCP's reuse detection), ending every
access token of it too, since verification reads the grant.

Failures raise :class:`OAuthError` with an RFC 6749 error code; wording never tells an
unknown user from a wrong password.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tasktrack.domain.identity import Grant, OAuthClient, Principal, RefreshToken
from tasktrack.domain.ids import is_valid_id, new_id
from tasktrack.errors import TaskTrackError, Unauthenticated
from tasktrack.service.passwords import verify_secret
from tasktrack.service.signing_keys import KeyReloader
from tasktrack.service.tokens import (
    AccessClaims,
    AccessTokens,
    SigningKeys,
    TokenPolicy,
    digests_match,
    new_refresh_secret,
    parse_refresh_token,
)
from tasktrack.service.verified import VerifiedCredentials
from tasktrack.storage.base import IdentityStore

_BAD_LOGIN = "wrong username or password"
_BAD_REFRESH = "the refresh token is invalid, expired or revoked"


class OAuthError(TaskTrackError):
    """The token request failed.

    Args:
        error: the RFC 6749 section 5.2 code (``invalid_grant``, ``invalid_client``, ...).
        description: a human-readable ``error_description``; never contains a secret.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


@dataclass(frozen=True, slots=True)
class ClientAuth:
    """Client credentials as presented (HTTP Basic or form fields)."""

    client_id: str
    client_secret: str


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """What the token endpoint returns on success."""

    access_token: str
    expires_in: int
    refresh_token: str
    token_type: str = "Bearer"


class OAuthService:
    """Issue, refresh, revoke and verify OAuth 2.0 tokens.

    Build it with :meth:`open`, which loads (or on a new database creates) the signing key.
    """

    def __init__(
        self,
        store: IdentityStore,
        keys: SigningKeys,
        policy: TokenPolicy | None = None,
        clock: Callable[[], float] = time.time,
        reloader: KeyReloader | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or TokenPolicy()
        self.clock = clock
        self.access = AccessTokens(keys, self.policy.access_ttl, clock)
        self.verified = VerifiedCredentials(clock)
        # None: the keys were given (TASKTRACK_SECRET_KEY) and never change.
        self._reloader = reloader

    @classmethod
    async def open(
        cls,
        store: IdentityStore,
        policy: TokenPolicy | None = None,
        clock: Callable[[], float] = time.time,
        keys: SigningKeys | None = None,
    ) -> OAuthService:
        """``keys``: fixed signing keys; None: the database's, re-read now and then."""
        if keys is not None:
            return cls(store, keys, policy, clock)
        reloader = KeyReloader(store, clock)
        return cls(store, await reloader.load(), policy, clock, reloader)

    async def _fresh_keys(self) -> AccessTokens:
        """The access-token signer, with keys re-read if a rotation may have happened."""
        if self._reloader is not None and self._reloader.due():
            keys = await self._reloader.load()
            if keys != self.access.keys:  # a retired key's tokens must not stay verified
                self.verified.clear()
            self.access.keys = keys
        return self.access

    async def authenticate_client(self, auth: ClientAuth) -> OAuthClient:
        """The active client these credentials name, or OAuthError ``invalid_client``."""
        found = None
        if is_valid_id(auth.client_id):
            found = await self.store.get_oauth_client(auth.client_id)
        stored = found.secret_hash if found is not None and not found.revoked else None
        # An unknown client still costs one argon2 verify: no enumeration by timing.
        if not await verify_secret(stored, auth.client_secret) or found is None:
            raise OAuthError("invalid_client", "client authentication failed")
        return found

    async def password_grant(
        self, username: str, password: str, client: ClientAuth | None = None
    ) -> TokenResponse:
        """Sign in a user by e-mail and password; the token acts for the user's organisation.

        Client authentication is optional (a public client); if given it must be valid and
        the client must belong to the user's organisation.
        """
        oauth_client = await self.authenticate_client(client) if client else None
        user = await self.store.find_user(username.strip().lower())
        stored = user.password_hash if user is not None and not user.disabled else None
        if not await verify_secret(stored, password) or user is None:
            raise OAuthError("invalid_grant", _BAD_LOGIN)
        if oauth_client is not None and oauth_client.org_id != user.org_id:
            raise OAuthError("invalid_grant", _BAD_LOGIN)
        read_only = oauth_client.read_only if oauth_client else False
        client_id = oauth_client.id if oauth_client else None
        return await self._start_grant(user.id, user.org_id, client_id, read_only)

    async def client_credentials_grant(self, client: ClientAuth | None) -> TokenResponse:
        """Tokens for an OAuth client itself, acting as its service user."""
        if client is None:
            raise OAuthError("invalid_client", "client_credentials needs client authentication")
        found = await self.authenticate_client(client)
        return await self._start_grant(found.user_id, found.org_id, found.id, found.read_only)

    async def refresh_grant(
        self, refresh_token: str, client: ClientAuth | None = None
    ) -> TokenResponse:
        """Exchange a refresh token for new tokens; the old refresh token stops working."""
        oauth_client = await self.authenticate_client(client) if client else None
        parsed = parse_refresh_token(refresh_token)
        row = await self.store.get_refresh_token(parsed[0]) if parsed else None
        matches = digests_match(row.secret_hash if row else None, parsed[1] if parsed else None)
        grant = await self.store.active_grant(row.grant_id) if row and matches else None
        if row is None or grant is None:
            raise OAuthError("invalid_grant", _BAD_REFRESH)
        if grant.client_id != (oauth_client.id if oauth_client else None):
            # RFC 6749 section 6: a token issued to a client is only refreshed by that client.
            raise OAuthError("invalid_grant", _BAD_REFRESH)  # never confirm the token is real
        now = self.clock()
        if row.used:
            await self.store.revoke_grant(grant.id)
            raise OAuthError("invalid_grant", "refresh token reused; the sign-in is revoked")
        if row.expires_at <= now:
            raise OAuthError("invalid_grant", _BAD_REFRESH)
        successor_id = new_id(now)
        token, hashed = new_refresh_secret(successor_id)
        successor = RefreshToken(successor_id, grant.id, hashed, now, now + self.policy.refresh_ttl)
        if not await self.store.rotate_refresh_token(row.id, successor):
            # Another request rotated it first: the same token was used twice.
            await self.store.revoke_grant(grant.id)
            raise OAuthError("invalid_grant", "refresh token reused; the sign-in is revoked")
        return await self._response(grant, token)

    async def revoke(self, token: str) -> None:
        """End the grant of a refresh or access token (RFC 7009); unknown tokens are ignored,
        as that RFC asks, so the answer tells nothing."""
        grant_id: str | None = None
        parsed = parse_refresh_token(token)
        if parsed is not None:
            row = await self.store.get_refresh_token(parsed[0])
            if digests_match(row.secret_hash if row else None, parsed[1]) and row:
                grant_id = row.grant_id
        else:
            try:
                access = await self._fresh_keys()
                grant_id = access.verify(token, allow_expired=True).grant_id
            except Unauthenticated:
                return
        if grant_id is not None:
            await self.store.revoke_grant(grant_id)

    async def verify_access_token(self, token: str) -> Principal:
        """The Principal of a valid, unexpired, unrevoked access token; else Unauthenticated.

        The signature is checked first, so forged tokens never cost a database read. A token
        verified since the identity data last changed is taken as verified until it expires
        (:mod:`tasktrack.service.verified`; a revoked grant or a disabled user still ends it
        at the next request, docs/fast-reads.md).
        """
        access = await self._fresh_keys()
        epoch = await self.store.identity_epoch()  # before verifying: see VerifiedCredentials
        principal = self.verified.get(token, epoch)
        if principal is None:
            claims = access.verify(token)
            principal = await self._grant_principal(claims)
            self.verified.put(token, principal, epoch, claims.expires_at)
        return principal

    async def _grant_principal(self, claims: AccessClaims) -> Principal:
        grant = await self.store.active_grant(claims.grant_id)
        if grant is None or (grant.user_id, grant.org_id) != (claims.user_id, claims.org_id):
            raise Unauthenticated("bearer token revoked")
        return Principal(grant.user_id, grant.org_id, grant.read_only, "bearer")

    async def _start_grant(
        self, user_id: str, org_id: str, client_id: str | None, read_only: bool
    ) -> TokenResponse:
        now = self.clock()
        grant = Grant(new_id(now), user_id, org_id, int(now), client_id, read_only)
        first_id = new_id(now)
        token, hashed = new_refresh_secret(first_id)
        first = RefreshToken(first_id, grant.id, hashed, now, now + self.policy.refresh_ttl)
        await self.store.create_grant(grant, first)
        return await self._response(grant, token)

    async def _response(self, grant: Grant, refresh_token: str) -> TokenResponse:
        access = (await self._fresh_keys()).issue(grant.user_id, grant.org_id, grant.id)
        return TokenResponse(access, max(1, round(self.policy.access_ttl)), refresh_token)
