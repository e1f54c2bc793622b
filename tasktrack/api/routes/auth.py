"""``POST /auth/oauth2/token`` (RFC 6749) and ``POST /auth/oauth2/revoke`` (RFC 7009).

Token requests are form-encoded. Clients authenticate with HTTP Basic or ``client_id`` /
``client_secret`` fields (RFC 6749 section 2.3.1), never both. Errors are RFC 6749 JSON
(``{"error": ..., "error_description": ...}``), not problem+json: that is what OAuth clients,
the official npm client among them, parse. Blank fields count as absent, because the npm
client sends ``rememberMe=``, ``organisationId=`` and ``scope=`` when they are unset; fields
the endpoints do not read are ignored, repeated or not (RFC 6749 section 3.1).

Password and client-secret checks are slow (argon2) and guessable, so a token request
*reserves* an attempt from the failed-authentication limiter before anything is verified
(per address, per account it names, and per pair; see :mod:`tasktrack.api.ratelimit`) and
gets it back unless the grant or client authentication failed. Out of budget, or with too
many of the address's sign-ins already running, it is a 429 (problem+json, ``Retry-After``),
as the limiter's other answers are.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.context import context_of
from tasktrack.api.problems import from_exception
from tasktrack.api.ratelimit import UNNAMED, client_address
from tasktrack.service.oauth import ClientAuth, OAuthError, OAuthService, TokenResponse

TOKEN_PATH = "/auth/oauth2/token"
REVOKE_PATH = "/auth/oauth2/revoke"
#: Largest token request body read; real ones are a few hundred bytes.
MAX_FORM_BYTES = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"
#: The errors that mean a guess was wrong: they keep the attempt they reserved.
_GUESSES = ("invalid_grant", "invalid_client")
#: The parameters the endpoints read: each at most once (RFC 6749 3.2); others are ignored.
_PARAMETERS = frozenset(
    {
        "grant_type",
        "username",
        "password",
        "refresh_token",
        "scope",
        "client_id",
        "client_secret",
        "token",
        "token_type_hint",
    }
)
#: Longest account name kept by the limiter (an e-mail is at most 254 characters).
_MAX_ACCOUNT = 320


def auth_routes() -> list[Route]:
    """The token and revocation endpoints."""
    return [
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(REVOKE_PATH, revoke, methods=["POST"]),
    ]


async def token(request: Request) -> Response:
    """Grant tokens; failed grants and client authentications count against the caller."""
    try:
        params = await _read_params(request, json_allowed=False)
        client = _client_auth(request, params)
        return _success(await _limited_grant(request, params, client))
    except OAuthError as exc:
        return _error(exc)
    except Exception as exc:
        return from_exception(request, exc)


async def _limited_grant(
    request: Request, params: dict[str, str], client: ClientAuth | None
) -> TokenResponse:
    """:func:`_grant` within the caller's budget: the attempt is counted before it starts."""
    ctx = context_of(request)
    address = client_address(request.scope)
    reservation = ctx.limiter.reserve(address, _accounts(params, client))
    guessed_wrong = False
    try:
        with ctx.limiter.in_flight(address):
            return await _grant(ctx.oauth, params, client)
    except OAuthError as exc:
        guessed_wrong = exc.error in _GUESSES
        raise
    finally:
        if not guessed_wrong:
            ctx.limiter.refund(reservation)


def _accounts(params: dict[str, str], client: ClientAuth | None) -> list[str]:
    """The accounts a token request tries: the user for the password grant, else the client
    (a refresh token without client authentication names none the limiter can use)."""
    grant_type = params.get("grant_type")
    if grant_type == "password":
        return ["user:" + params.get("username", "").strip().lower()[:_MAX_ACCOUNT]]
    if grant_type in ("client_credentials", "refresh_token"):
        return ["client:" + client.client_id[:_MAX_ACCOUNT] if client else UNNAMED]
    return []


async def _grant(
    oauth: OAuthService, params: dict[str, str], client: ClientAuth | None
) -> TokenResponse:
    grant_type = params.get("grant_type")
    if grant_type == "password":
        username, password = _required(params, "username"), _required(params, "password")
        return await oauth.password_grant(username, password, client)
    if grant_type == "client_credentials":
        return await oauth.client_credentials_grant(client)
    if grant_type == "refresh_token":
        return await oauth.refresh_grant(_required(params, "refresh_token"), client)
    if grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required")
    raise OAuthError(
        "unsupported_grant_type",
        "grant_type must be password, client_credentials or refresh_token",
    )


async def revoke(request: Request) -> Response:
    """Revoke the grant of a refresh or access token; 200 whether or not it was known."""
    try:
        params = await _read_params(request, json_allowed=True)
        await context_of(request).oauth.revoke(_required(params, "token"))
    except OAuthError as exc:
        return _error(exc)
    except Exception as exc:
        return from_exception(request, exc)
    return Response(b"", headers=_NO_STORE)


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise OAuthError("invalid_request", f"{name} is required")
    return value


async def _read_params(request: Request, *, json_allowed: bool) -> dict[str, str]:
    """The request's parameters; blank ones dropped, repeated ones refused (RFC 6749 3.2)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", "request body too large")
    if media == "application/json" and json_allowed:
        return _json_params(body)
    if media != _FORM:
        raise OAuthError("invalid_request", f"the body must be {_FORM}")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "malformed form body") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in _PARAMETERS:
            continue  # unrecognised parameters are ignored, repeated or not (RFC 6749 3.1)
        if name in params:
            raise OAuthError("invalid_request", f"{name} is given more than once")
        if value:
            params[name] = value
    return params


def _json_params(body: bytes) -> dict[str, str]:
    try:
        data: Any = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise OAuthError("invalid_request", "malformed JSON body") from None
    if not isinstance(data, dict):
        raise OAuthError("invalid_request", "the body must be an object")
    known = {name: value for name, value in data.items() if name in _PARAMETERS}
    for name, value in known.items():
        if not isinstance(value, str):  # as in a form: a value that is not text is malformed
            raise OAuthError("invalid_request", f"{name} must be a string")
    return {name: value for name, value in known.items() if value}


def _client_auth(request: Request, params: dict[str, str]) -> ClientAuth | None:
    """Client credentials from HTTP Basic or the form; None when there are none."""
    header = request.headers.get("authorization")
    in_body = "client_id" in params or "client_secret" in params
    if header is not None:
        if in_body:
            raise OAuthError("invalid_request", "authenticate the client one way, not two")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise OAuthError("invalid_client", "the token endpoint takes HTTP Basic")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed HTTP Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError("invalid_client", "malformed HTTP Basic credentials")
        return ClientAuth(unquote_plus(client_id), unquote_plus(secret))
    if not in_body:
        return None
    if "client_id" not in params or "client_secret" not in params:
        raise OAuthError("invalid_client", "client_id and client_secret go together")
    return ClientAuth(params["client_id"], params["client_secret"])


def _json(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _success(result: TokenResponse) -> Response:
    body = {
        "access_token": result.access_token,
        "token_type": result.token_type,
        "expires_in": result.expires_in,
        "refresh_token": result.refresh_token,
    }
    return _json(body, 200, _NO_STORE)


def _error(exc: OAuthError) -> Response:
    body = {"error": exc.error, "error_description": exc.message}
    if exc.error == "invalid_client":  # RFC 6749 section 5.2: 401 with a challenge
        return _json(body, 401, {**_NO_STORE, "WWW-Authenticate": 'Basic realm="tasktrack"'})
    return _json(body, 400, _NO_STORE)
