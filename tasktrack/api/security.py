"""Credentials → Principal: ``X-API-Key`` header, ``api_key`` query parameter, or Bearer token.

Exactly one credential per request. A request that carries more than one (a key in the header
and in the query, a key and an ``Authorization`` header of any scheme, a repeated header or
parameter) is refused with 401 before any of them is checked, rather than answered on
whichever one this server would prefer: a malformed or foreign second credential must never
be silently ignored (a proxy that adds its own ``Authorization`` would otherwise decide who
the caller is), and no client of ours sends two. docs/identity.md says so for users.

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
_ONE_OF = "X-API-Key, ?api_key= or Authorization: Bearer"


def _presented(request: Request) -> list[tuple[str, str]]:
    """Every credential the request carries, as (where, value); an empty one counts too."""
    headers, query = request.headers, request.query_params
    return [
        *(("x-api-key", value) for value in headers.getlist("x-api-key")),
        *(("api_key", value) for value in query.getlist("api_key")),
        *(("authorization", value) for value in headers.getlist("authorization")),
    ]


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
        presented = _presented(request)
        if len(presented) > 1:  # nothing was checked, so nothing was guessed: not counted
            raise Unauthenticated(f"more than one credential sent: send exactly one of {_ONE_OF}")
        kind, value = presented[0] if presented else ("", "")
        if not value:  # presenting nothing (or a blank) is not a guess: not counted either
            raise Unauthenticated(f"authentication required: send {_ONE_OF}")
        if kind == "authorization":
            return await self._bearer_or_failed(request, value)
        try:  # the hot path: one primary-key read
            return await self.identity.authenticate_api_key(value)
        except Unauthenticated:
            self._failed(request, api_key_account(value))
            raise

    async def _bearer_or_failed(self, request: Request, authorization: str) -> Principal:
        try:
            return await self._bearer(authorization)
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
