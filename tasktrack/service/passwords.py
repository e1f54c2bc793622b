"""Hashing human-chosen secrets (passwords) and long-lived shared ones (OAuth client secrets).

argon2id through argon2-cffi, with its RFC 9106 "low memory" profile: a guess costs an
attacker with a stolen database tens of milliseconds and 64 MiB, not nanoseconds. Verifying
costs the server as much, and it is only ever on the sign-in path (the token endpoint), never
on per-request authentication.

Verifications run on threads of their own, at the lowest CPU priority (Linux niceness 19, per
thread), so that a burst of sign-ins only uses CPU nobody else wants. A thread is not enough:
argon2-cffi releases the GIL, but the profile's ``parallelism`` of 4 makes libargon2 start 4
threads of its own per verification, which on a small machine took every core from the event
loop (another client's GET p99 rose 2-5x during a burst of wrong passwords). The lane threads
inherit the niceness, so a request thread that wakes preempts them at once.

At most :data:`VERIFY_SLOTS` verifications run at once, and at most :data:`MAX_WAITING` wait
for a slot; beyond that :class:`~tasktrack.errors.Overloaded` is raised at once rather than
queueing work nobody will wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import threading
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tasktrack.errors import InvalidArgument, Overloaded

#: Shorter than this is refused when a password is set (NIST SP 800-63B's floor is 8).
MIN_PASSWORD_LENGTH = 8
#: Longer than this is refused outright, so a huge body cannot make us hash megabytes.
MAX_SECRET_LENGTH = 1024
#: Threads libargon2 runs per verification: the lanes of the profile hashes are made with.
LANES = profiles.RFC_9106_LOW_MEMORY.parallelism
#: Verifications that may run at once: their lane threads on every core but one (the event
#: loop's), and at least one. 64 MiB each, so this bounds memory too.
VERIFY_SLOTS = max(1, ((os.cpu_count() or 2) - 1) // LANES)
#: Niceness of the verifying threads (and the lane threads they start): 19, the lowest.
VERIFY_NICENESS = 19
#: Verifications that may wait for a slot; more raise Overloaded (about 0.5 s of work each).
MAX_WAITING = 8 * VERIFY_SLOTS


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


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


class _Gate:
    """A semaphore with a bounded queue, one per event loop (a semaphore belongs to one)."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(VERIFY_SLOTS)
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.slots.locked() and self.waiting >= MAX_WAITING:
            raise Overloaded()
        self.waiting += 1
        try:
            await self.slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self.slots.release()


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


def _gate() -> _Gate:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = _Gate()
    return gate


def _lower_priority() -> None:
    """Run this thread, and the threads it starts, at :data:`VERIFY_NICENESS`.

    Linux keeps a niceness per thread (``setpriority`` on a thread id) and new threads inherit
    it; elsewhere the call would name the whole process, so it is left out there. A refusal
    (a seccomp or container policy) only costs the priority, not the verification.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VERIFY_NICENESS)


@functools.cache
def _executor() -> ThreadPoolExecutor:
    """The verifying threads: a pool of their own, since a thread's niceness cannot be raised
    back without privileges (the loop's default pool serves other work)."""
    return ThreadPoolExecutor(
        VERIFY_SLOTS, thread_name_prefix="tasktrack-argon2", initializer=_lower_priority
    )


async def verify_secret(stored: str | None, presented: str) -> bool:
    """:func:`verify_secret_sync` on a low-priority verifying thread, once a verification slot
    is free; Overloaded if too many are already waiting."""
    async with _gate().slot():
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor(), verify_secret_sync, stored, presented)


def check_new_password(password: str) -> None:
    """Raise InvalidArgument if ``password`` is too short or too long to be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_SECRET_LENGTH:
        raise InvalidArgument(f"a password may have at most {MAX_SECRET_LENGTH} characters")
