"""The identity store every identity command (``org``, ``user``, ``apikey``,
``oauth-client``) opens, and their shared ``--database-url`` help."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from tasktrack.cli.common import DATABASE_URL_HELP
from tasktrack.config import Settings
from tasktrack.service.identity import IdentityService
from tasktrack.storage.factory import open_stores

__all__ = ["DATABASE_URL_HELP", "identity_service"]


@contextlib.asynccontextmanager
async def identity_service(settings: Settings) -> AsyncIterator[IdentityService]:
    """An IdentityService on the configured database (created or upgraded if needed), with
    the default organisation and user in place, as the server would make them."""
    stores = await open_stores(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        identity = IdentityService(stores.identity)
        await identity.ensure_default()
        yield identity
    finally:
        await stores.close()
