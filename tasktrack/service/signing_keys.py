"""Where the access-token signing key comes from, and how it is rotated.

By default the key lives in the database (``server_secrets``), made on first start, so every
API process on one database shares it. ``tasktrack secret rotate`` makes a new current key
and keeps the old one, with a time after which it is retired, under a second name; servers
re-read the keys every :data:`RELOAD_SECONDS`, so within that time they all sign with the new
key while tokens signed with the old one stay valid until they expire.

Alternatively the key comes from ``TASKTRACK_SECRET_KEY`` (or a file), with earlier keys in
``TASKTRACK_SECRET_KEY_PREVIOUS``: the database then holds no usable signing key, and the
operator rotates by changing the variables (see :meth:`tasktrack.config.Settings.signing_keys`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from tasktrack.service.tokens import SIGNING_KEY_NAME, SigningKeys
from tasktrack.storage.base import IdentityStore

#: Name of the retired-but-accepted keys: a JSON list of ``{"key", "retire_after"}``.
PREVIOUS_KEYS_NAME = SIGNING_KEY_NAME + ".previous"
#: How often a server re-reads the database's keys, seconds.
RELOAD_SECONDS = 30.0


def new_signing_key() -> str:
    """A fresh 384-bit key."""
    return secrets.token_urlsafe(48)


async def load_signing_keys(store: IdentityStore, now: float) -> SigningKeys:
    """The database's current key (made if there is none) and its unretired previous keys."""
    current = await store.server_secret(SIGNING_KEY_NAME, new_signing_key())
    previous = await _previous(store, now)
    return SigningKeys(current, tuple(entry["key"] for entry in previous))


async def rotate_signing_key(store: IdentityStore, keep_seconds: float, now: float) -> None:
    """Make a new current key; the old one is still accepted for ``keep_seconds``."""
    current = await store.server_secret(SIGNING_KEY_NAME, new_signing_key())
    retiring = {"key": current, "retire_after": now + keep_seconds}
    previous = [retiring, *await _previous(store, now)]
    await store.put_server_secrets(
        {SIGNING_KEY_NAME: new_signing_key(), PREVIOUS_KEYS_NAME: json.dumps(previous)}
    )


async def _previous(store: IdentityStore, now: float) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(await store.server_secret(PREVIOUS_KEYS_NAME, "[]"))
    return [entry for entry in entries if float(entry["retire_after"]) > now]


class KeyReloader:
    """Keeps :class:`SigningKeys` from the database fresh, re-reading them now and then."""

    def __init__(self, store: IdentityStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._loaded_at: float | None = None

    def due(self) -> bool:
        """True when the keys have not been read for :data:`RELOAD_SECONDS`."""
        return self._loaded_at is None or self.clock() - self._loaded_at >= RELOAD_SECONDS

    async def load(self) -> SigningKeys:
        """Read the keys now."""
        self._loaded_at = self.clock()
        return await load_signing_keys(self.store, self._loaded_at)
