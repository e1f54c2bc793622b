"""Hashing human-chosen secrets (passwords) and long-lived shared ones (OAuth client secrets).

argon2id through argon2-cffi, with its RFC 9106 "low memory" profile: a guess costs an
attacker with a stolen database tens of milliseconds and 64 MiB, not nanoseconds. Verifying
costs the server as much, so it runs on a worker thread to keep the event loop free, and it
is only ever on the sign-in path (the token endpoint), never on per-request authentication.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tasktrack.errors import InvalidArgument

#: Shorter than this is refused when a password is set (NIST SP 800-63B's floor is 8).
MIN_PASSWORD_LENGTH = 8
#: Longer than this is refused outright, so a huge body cannot make us hash megabytes.
MAX_SECRET_LENGTH = 1024


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash of nothing anybody knows, to verify against when there is no account, so
    an unknown user costs as long as a wrong password (no user enumeration by timing)."""
    return _hasher().hash("tasktrack: no such account")


def hash_secret(secret: str) -> str:
    """An argon2id hash (salted, parameters encoded in the string)."""
    return _hasher().hash(secret)


def verify_secret_sync(stored: str | None, presented: str) -> bool:
    """Whether ``presented`` matches ``stored``; with ``stored`` None, burns the same time and
    returns False. argon2's verify compares in constant time."""
    if len(presented) > MAX_SECRET_LENGTH:
        return False
    try:
        ok = _hasher().verify(stored or _dummy_hash(), presented)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


async def verify_secret(stored: str | None, presented: str) -> bool:
    """:func:`verify_secret_sync` on a worker thread."""
    return await asyncio.to_thread(verify_secret_sync, stored, presented)


def check_new_password(password: str) -> None:
    """Raise InvalidArgument if ``password`` is too short or too long to be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_SECRET_LENGTH:
        raise InvalidArgument(f"a password may have at most {MAX_SECRET_LENGTH} characters")
