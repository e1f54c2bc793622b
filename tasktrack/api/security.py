"""Credentials → Principal: ``X-API-Key`` header, ``api_key`` query parameter, or Bearer token.

Bearer tokens are checked by a verifier the app is given
(:meth:`tasktrack.service.oauth.OAuthService.verify_access_token`); without one, a bearer
token is simply not a valid credential. Every rejected credential is reported to the
failed-authentication limiter under the account it names (an API key's id; bearer tokens name
none), which is what makes guessing keys and tokens slow. The limiter's middleware has already
refused a request whose address or account is out of budget.

Nothing here logs: a presented credential must never reach a log line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from tasktrack.api.ratelimit import UNNAMED, FailedAuthLimiter, api_key_account, client_address
from tasktrack.domain.identity import Principal
from tasktrack.errors import Unauthenticated
from tasktrack.service.identity import IdentityService

BearerVerifier = Callable[[str], Awaitable[Principal]]


class Authenticator:
    """Resolves the caller of a request, or raises Unauthenticated."""

    def __init__(
        self,
        identity: IdentityService,
        bearer: BearerVerifier | None = None,
        limiter: FailedAuthLimiter | None = None,
    ) -> None:
        self.identity = identity
        self.bearer = bearer
        self.limiter = limiter

    async def __call__(self, request: Request) -> Principal:
        key = request.headers.get("x-api-key") or request.query_params.get("api_key")
        if key:  # the hot path: one header lookup, one primary-key read
            try:
                return await self.identity.authenticate_api_key(key)
            except Unauthenticated:
                self._failed(request, api_key_account(key))
                raise
        auth = request.headers.get("authorization")
        if not auth:  # presenting nothing is not a guess: the limiter does not count it
            raise Unauthenticated(
                "authentication required: send X-API-Key, ?api_key= or Authorization: Bearer"
            )
        try:
            return await self._bearer(auth)
        except Unauthenticated:
            self._failed(request, UNNAMED)
            raise

    def _failed(self, request: Request, account: str) -> None:
        if self.limiter is not None:
            self.limiter.record_failure(client_address(request.scope), account)

    async def _bearer(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip() and self.bearer is not None:
            return await self.bearer(token.strip())
        raise Unauthenticated("invalid bearer token")
