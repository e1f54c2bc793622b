"""Credentials → Principal: ``X-API-Key`` header, ``api_key`` query parameter, or Bearer token.

Bearer tokens are checked by a verifier the app is given (the OAuth2 issue supplies one);
without one, a bearer token is simply not a valid credential.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from tasktrack.domain.identity import Principal
from tasktrack.errors import Unauthenticated
from tasktrack.service.identity import IdentityService

BearerVerifier = Callable[[str], Awaitable[Principal]]


class Authenticator:
    """Resolves the caller of a request, or raises Unauthenticated."""

    def __init__(self, identity: IdentityService, bearer: BearerVerifier | None = None) -> None:
        self.identity = identity
        self.bearer = bearer

    async def __call__(self, request: Request) -> Principal:
        key = request.headers.get("x-api-key") or request.query_params.get("api_key")
        if key:
            return await self.identity.authenticate_api_key(key)
        auth = request.headers.get("authorization")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip() and self.bearer is not None:
                return await self.bearer(token.strip())
            raise Unauthenticated("invalid bearer token")
        raise Unauthenticated(
            "authentication required: send X-API-Key, ?api_key= or Authorization: Bearer"
        )
