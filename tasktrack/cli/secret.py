"""``tasktrack secret``: rotate the access-token signing key kept in the database."""

from __future__ import annotations

import time

import click

from tasktrack.cli.common import DATABASE_URL_HELP, EXIT_USAGE, fail, run_async
from tasktrack.cli.settings import load_settings
from tasktrack.config import Settings
from tasktrack.service.signing_keys import RELOAD_SECONDS, rotate_signing_key
from tasktrack.storage.factory import open_stores


@click.group()
def secret() -> None:
    """Manage the access-token signing key."""


@secret.command()
@click.option("--database-url", help=DATABASE_URL_HELP)
def rotate(database_url: str | None) -> None:
    """Sign new access tokens with a new key; tokens signed with the old one stay valid
    until they expire (safe while servers run: they pick the new key up within 30 s).

    \b
    Example:
      tasktrack secret rotate
    """
    settings = load_settings(database_url=database_url)
    if settings.signing_keys() is not None:
        fail(
            "the signing key comes from TASKTRACK_SECRET_KEY(_FILE): to rotate it, move the old "
            "key to TASKTRACK_SECRET_KEY_PREVIOUS and set a new one",
            EXIT_USAGE,
        )
    run_async(lambda: _rotate(settings))
    click.echo(f"signing key rotated; the old key is accepted for {_keep(settings):.0f} s more")


def _keep(settings: Settings) -> float:
    # A server may sign with the old key until it next re-reads the keys; such a token is
    # valid for one access-token lifetime from then.
    return settings.access_token_ttl + 2 * RELOAD_SECONDS


async def _rotate(settings: Settings) -> None:
    stores = await open_stores(settings.database_url)
    try:
        await rotate_signing_key(stores.identity, _keep(settings), time.time())
    finally:
        await stores.close()
