"""Signing secrets of webhook subscriptions: made, shown once, kept encrypted.

A Standard Webhooks signature is an HMAC, so the server must be able to read the secret
back: it cannot be stored as a hash like an API key. It is stored encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from the maintained ``cryptography`` package) under a key that
comes from ``TASKTRACK_WEBHOOK_KEY`` when set (derived with HKDF, so any long random string
will do) and otherwise from the database's ``server_secrets`` (made on first use, shared by
every process on the database).

What that protects: with ``TASKTRACK_WEBHOOK_KEY`` set, a copy of the database (a dump, a
backup, a read-only SQL injection) does not reveal the secrets. Without it the key sits in the
same database, so only a partial leak (the subscriptions table alone) is covered; the
documentation says so and recommends setting the variable in production.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tasktrack.errors import StorageError
from tasktrack.storage.base import IdentityStore

#: The ``server_secrets`` row holding the key when no TASKTRACK_WEBHOOK_KEY is set.
KEY_NAME = "webhooks.encryption_key"
#: Standard Webhooks' secret prefix; the rest is base64 of 32 random bytes.
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format (``whsec_`` + base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _derived(configured: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tasktrack webhooks")
    return base64.urlsafe_b64encode(hkdf.derive(configured.encode("utf-8")))


class SecretBox:
    """Encrypts secrets for storage and decrypts them to sign."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    async def open(cls, identity: IdentityStore, configured: str = "") -> SecretBox:
        """The box for ``configured`` (TASKTRACK_WEBHOOK_KEY), else the database's key."""
        if configured:
            return cls(_derived(configured))
        key = await identity.server_secret(KEY_NAME, Fernet.generate_key().decode("ascii"))
        return cls(key.encode("ascii"))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open_secret(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise StorageError(
                "a webhook secret cannot be decrypted: TASKTRACK_WEBHOOK_KEY differs from the "
                "key it was stored under"
            ) from None
