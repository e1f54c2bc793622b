"""Who is calling: organisations, users, credentials, and the resolved Principal.

Every credential record stores a *hash* of its secret, never the secret: a database dump
must not let anyone sign in. Random 256-bit secrets (API keys, refresh tokens) get a fast
digest; human-chosen or long-lived shared secrets (passwords, OAuth client secrets) get a KDF.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Organisation:
    """A tenant: nobody ever sees another organisation's tasks."""

    id: str
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class User:
    id: str
    org_id: str
    email: str
    created_at: int
    #: A KDF hash (argon2); None for a user who signs in with keys only.
    password_hash: str | None = None
    #: A disabled user cannot sign in; disabling also revokes their keys and grants.
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never the key itself, only a hash of its secret part."""

    id: str
    user_id: str
    org_id: str
    secret_hash: str
    created_at: int
    read_only: bool = False
    revoked: bool = False
    label: str = ""


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A confidential OAuth 2.0 client of one organisation.

    ``client_credentials`` tokens act as the client's own service user (``user_id``), so that
    ``createdBy`` names a real user id and the client's work can be told apart from people's.
    """

    id: str
    org_id: str
    user_id: str
    #: A KDF hash (argon2) of the client secret.
    secret_hash: str
    created_at: int
    name: str = ""
    read_only: bool = False
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Grant:
    """One sign-in: every access and refresh token issued from one password or
    client-credentials exchange, through all refresh rotations, belongs to one grant.

    Revoking the grant ends all of them at once (also access tokens already handed out,
    because verifying an access token reads its grant).
    """

    id: str
    user_id: str
    org_id: str
    created_at: int
    #: The OAuth client the grant was issued to, if the client authenticated.
    client_id: str | None = None
    read_only: bool = False
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A refresh token as stored: a digest of its secret, and whether it was used.

    Tokens rotate: using one marks it used and issues its successor in the same grant. A used
    token presented again means it leaked, so the whole grant is revoked (OAuth 2.0 Security
    BCP, refresh token rotation).
    """

    id: str
    grant_id: str
    secret_hash: str
    created_at: float
    expires_at: float
    used: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller every service call is scoped to."""

    user_id: str
    org_id: str
    read_only: bool = False
    #: How the caller authenticated: "api_key", "bearer" or "internal".
    via: str = "api_key"
