"""Token formats: signed JWT access tokens and opaque refresh tokens.

Access tokens are HS256 JWTs (PyJWT). Signing lets a forged or tampered token be refused
before any database read, and several API processes on one database verify each other's
tokens because the key lives in the database (``server_secrets``), made on first start, or
comes from ``TASKTRACK_SECRET_KEY`` (see :mod:`tasktrack.service.signing_keys`). Tokens are
signed with the current key and verified with it, then with previous keys that are not yet
retired, so a rotation ends no session early. A token whose lifetime (``exp - iat``) exceeds
the configured one is refused, however well signed: it was not made by this server.
Being signed is not enough to be valid, though: :class:`~tasktrack.service.oauth.OAuthService`
also reads the token's grant, so a revoked sign-in or a disabled user stops working at once
rather than when the token expires.

Refresh tokens are opaque, ``ttr_<24-hex id>_<43-char secret>`` like API keys: the id finds
the row, only a SHA-256 digest of the 256-bit secret is stored, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tasktrack.errors import Unauthenticated

#: Name of the signing key in the store's ``server_secret``.
SIGNING_KEY_NAME = "access_token_hs256_key"
ISSUER = "tasktrack"
_REFRESH = re.compile(r"ttr_([0-9a-f]{24})_([A-Za-z0-9_-]{43})\Z")
_CLAIMS = ["exp", "iat", "sub", "org", "jti", "gid", "iss"]
#: Default lifetimes, seconds. Also the defaults of ``TASKTRACK_ACCESS_TOKEN_TTL`` and
#: ``TASKTRACK_REFRESH_TOKEN_TTL`` (:class:`tasktrack.config.Settings` reads them from here).
DEFAULT_ACCESS_TTL = 900.0
DEFAULT_REFRESH_TTL = 30 * 86400.0


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """Token lifetimes in seconds. The server builds it from :class:`tasktrack.config.Settings`.

    Args:
        access_ttl: how long an access token is accepted (default 15 minutes).
        refresh_ttl: how long an unused refresh token can be exchanged (default 30 days).
    """

    access_ttl: float = DEFAULT_ACCESS_TTL
    refresh_ttl: float = DEFAULT_REFRESH_TTL


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The key tokens are signed with, and the earlier ones they are still verified with."""

    current: str
    previous: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        """Every accepted key, current first."""
        return (self.current, *self.previous)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says; the grant still has to be checked."""

    user_id: str
    org_id: str
    grant_id: str
    expires_at: int


class AccessTokens:
    """Signs and verifies access tokens with HS256 :class:`SigningKeys`, on an injectable
    clock. ``keys`` may be replaced (after a rotation) while tokens are in use."""

    def __init__(self, keys: SigningKeys, ttl: float, clock: Callable[[], float]) -> None:
        self.keys = keys
        self.ttl = ttl
        self.clock = clock

    def issue(self, user_id: str, org_id: str, grant_id: str) -> str:
        now = int(self.clock())
        claims = {
            "iss": ISSUER,
            "sub": user_id,
            "org": org_id,
            "gid": grant_id,
            "jti": secrets.token_hex(12),
            "iat": now,
            "exp": now + self.max_lifetime(),
        }
        import jwt  # see _decode_with

        return jwt.encode(claims, self.keys.current, algorithm="HS256")

    def verify(self, token: str, *, allow_expired: bool = False) -> AccessClaims:
        """The claims of a token this server signed; Unauthenticated otherwise.

        The algorithm is pinned to HS256, so ``alg: none`` and key-confusion tricks fail.
        """
        claims = self._decode(token)
        exp = claims["exp"]
        # Longer-lived than any token this server issues: made with a stolen key.
        if not _well_formed(claims) or exp - claims["iat"] > self.max_lifetime():
            raise Unauthenticated("invalid bearer token")
        if exp <= self.clock() and not allow_expired:
            raise Unauthenticated("bearer token expired")
        return AccessClaims(claims["sub"], claims["org"], claims["gid"], exp)

    def max_lifetime(self) -> int:
        """The longest ``exp - iat`` this server issues (and so accepts)."""
        return max(1, round(self.ttl))

    def _decode(self, token: str) -> dict[str, Any]:
        import jwt  # see _decode_with

        for key in self.keys.all():
            try:
                return _decode_with(token, key)
            except jwt.InvalidSignatureError:
                continue  # perhaps signed with an earlier key
            except jwt.PyJWTError:
                break
        raise Unauthenticated("invalid bearer token")


def _well_formed(claims: dict[str, Any]) -> bool:
    times = (claims["exp"], claims["iat"])
    ids = (claims["sub"], claims["org"], claims["gid"])
    return all(type(t) is int for t in times) and all(isinstance(i, str) for i in ids)


def _decode_with(token: str, key: str) -> dict[str, Any]:
    # PyJWT is imported where tokens are made or read, not with this module: it pulls in
    # cryptography's x509 (~40-70 ms), and the worker and the CLI import this module (through
    # Settings) without ever signing or verifying a token.
    import jwt

    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["HS256"],
        issuer=ISSUER,
        # Expiry is checked by the caller against our clock (tests fake it).
        options={"require": _CLAIMS, "verify_exp": False, "verify_iat": False},
    )
    return claims


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_secret(token_id: str) -> tuple[str, str]:
    """A new refresh token for row ``token_id``: (the token, the digest to store)."""
    secret = secrets.token_urlsafe(32)
    return f"ttr_{token_id}_{secret}", digest(secret)


def parse_refresh_token(presented: str) -> tuple[str, str] | None:
    """(row id, digest of the secret) of a well-formed refresh token, else None."""
    m = _REFRESH.match(presented)
    return (m.group(1), digest(m.group(2))) if m else None


def digests_match(stored: str | None, presented: str | None) -> bool:
    """Constant-time comparison that also spends the time when either side is missing."""
    ok = hmac.compare_digest(stored or digest(""), presented or digest("-"))
    return ok and stored is not None and presented is not None
