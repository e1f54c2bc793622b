"""``tasktrack org``: organisations (tenants)."""

from __future__ import annotations

import click

from tasktrack.cli.common import run_async
from tasktrack.cli.identity_db import DATABASE_URL_HELP, identity_service
from tasktrack.cli.identity_list import (
    Row,
    database_option,
    list_rows,
    output_option,
    when,
)
from tasktrack.cli.settings import load_settings
from tasktrack.service.identity import IdentityService


@click.group()
def org() -> None:
    """Manage organisations: each one's tasks are invisible to every other."""


@org.command("create")
@click.argument("name")
@click.option("--database-url", help=DATABASE_URL_HELP)
def create(name: str, database_url: str | None) -> None:
    """Create an organisation and print its id.

    \b
    Example:
      tasktrack org create acme
    """
    settings = load_settings(database_url=database_url)

    async def go() -> str:
        async with identity_service(settings) as identity:
            return (await identity.create_organisation(name)).id

    org_id = run_async(go)
    click.echo(f"created organisation {name!r}")
    click.echo(org_id)


@org.command("list")
@output_option
@database_option
def list_(output: str, database_url: str | None) -> None:
    """List organisations: id, name, created.

    \b
    Example:
      tasktrack org list --output json
    """

    async def fetch(identity: IdentityService) -> list[Row]:
        found = await identity.organisations()
        return [{"id": o.id, "name": o.name, "created": when(o.created_at)} for o in found]

    list_rows(database_url, output, fetch)
