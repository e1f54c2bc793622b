"""Credentials already verified, kept until the identity data changes.

Verifying a credential costs a database read (an API key's row, a bearer token's grant) and,
for a bearer token, an HMAC-signed JWT to decode: on the GET-one path that is as much as the
read it guards. A process therefore remembers the principal of each credential it verified,
under the store's *identity epoch* (:meth:`~tasktrack.storage.base.IdentityStore.identity_epoch`),
which moves whenever a key, grant or OAuth client is revoked or a user disabled, in any
process. A different epoch empties the cache; no epoch (PostgreSQL's listener down) means no
caching at all. There is no time-to-live: an entry is good exactly until the identity data
changes, or, for a bearer token, until the token expires. Failures are never cached, so the
failed-authentication limiter sees every wrong guess. See docs/fast-reads.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Hashable

from tasktrack.domain.identity import Principal

#: Most entries kept; a flood of distinct valid credentials empties the cache, never grows it.
MAX_ENTRIES = 10_000


def _slot(credential: str) -> bytes:
    # Keyed by a digest: the cache never holds a usable secret.
    return hashlib.sha256(credential.encode()).digest()


class VerifiedCredentials:
    """Principals of verified credentials under one identity epoch."""

    def __init__(self, clock: Callable[[], float], max_entries: int = MAX_ENTRIES) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._epoch: Hashable | None = None
        self._entries: dict[bytes, tuple[Principal, float]] = {}

    def get(self, credential: str, epoch: Hashable | None) -> Principal | None:
        """The principal ``credential`` was verified as, if nothing changed since."""
        if epoch is None:
            return None
        if epoch != self._epoch:
            self._entries.clear()
            self._epoch = epoch
            return None
        entry = self._entries.get(_slot(credential))
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    def put(
        self,
        credential: str,
        principal: Principal,
        epoch: Hashable | None,
        expires_at: float = math.inf,
    ) -> None:
        """Remember a credential verified under ``epoch``, read *before* verifying: if the
        identity data changed meanwhile, the epochs differ and nothing is kept."""
        if epoch is None or epoch != self._epoch:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[_slot(credential)] = (principal, expires_at)

    def clear(self) -> None:
        self._entries.clear()
