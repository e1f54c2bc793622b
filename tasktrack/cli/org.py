"""``tasktrack org``: organisations (tenants), and the store opening every identity command
shares."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import click

from tasktrack.cli.main import run_async, settings_from
from tasktrack.config import Settings
from tasktrack.service.identity import IdentityService
from tasktrack.storage.factory import open_stores

DATABASE_URL_HELP = "Database URL. [env: TASKTRACK_DATABASE_URL]"


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


@click.group()
def org() -> None:
    """Manage organisations: each one's tasks are invisible to every other."""


@org.command("create")
@click.argument("name")
@click.option("--database-url", help=DATABASE_URL_HELP)
@click.pass_context
def create(ctx: click.Context, name: str, database_url: str | None) -> None:
    """Create an organisation and print its id.

    \b
    Example:
      tasktrack org create acme
    """
    settings = settings_from(ctx, database_url=database_url)

    async def go() -> str:
        async with identity_service(settings) as identity:
            return (await identity.create_organisation(name)).id

    org_id = run_async(go)
    click.echo(f"created organisation {name!r}")
    click.echo(org_id)
