"""Who is calling: organisations, users, API keys, and the resolved Principal."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Organisation:
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
class Principal:
    """The caller every service call is scoped to."""

    user_id: str
    org_id: str
    read_only: bool = False
    #: How the caller authenticated: "api_key", "bearer" or "internal".
    via: str = "api_key"
