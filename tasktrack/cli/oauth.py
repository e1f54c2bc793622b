"""``tasktrack oauth-client``: OAuth 2.0 clients for the token endpoint."""

from __future__ import annotations

import click

from tasktrack.cli.common import run_async
from tasktrack.cli.identity_db import DATABASE_URL_HELP, identity_service
from tasktrack.cli.identity_list import (
    Row,
    database_option,
    list_rows,
    org_option,
    output_option,
    when,
)
from tasktrack.cli.settings import load_settings
from tasktrack.service.identity import DEFAULT_ORG, IdentityService


@click.group("oauth-client")
def oauth_client() -> None:
    """Manage OAuth 2.0 clients (for the password and client_credentials grants)."""


@oauth_client.command("create")
@click.option("--org", "org_ref", default=DEFAULT_ORG, help="Organisation id or name.")
@click.option("--name", default="", help="A note to recognise the client by.")
@click.option("--read-only", is_flag=True, help="Its tokens can read and list, nothing else.")
@click.option("--database-url", help=DATABASE_URL_HELP)
def create(org_ref: str, name: str, read_only: bool, database_url: str | None) -> None:
    """Create a client and print its id and secret (the secret is shown only once).

    client_credentials tokens act as the client's own service user.

    \b
    Example:
      tasktrack oauth-client create --org acme --name ci
    """
    settings = load_settings(database_url=database_url)

    async def go() -> tuple[str, str]:
        async with identity_service(settings) as identity:
            org = await identity.find_organisation(org_ref)
            client, secret = await identity.create_oauth_client(
                org.id, name=name, read_only=read_only
            )
            return client.id, secret

    client_id, secret = run_async(go)
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


@oauth_client.command("revoke")
@click.argument("client_id")
@click.option("--database-url", help=DATABASE_URL_HELP)
def revoke(client_id: str, database_url: str | None) -> None:
    """Revoke a client: its secret and every token issued to it stop working.

    \b
    Example:
      tasktrack oauth-client revoke 65a1f0c2e4b0a1b2c3d4e5f6
    """
    settings = load_settings(database_url=database_url)

    async def go() -> None:
        async with identity_service(settings) as identity:
            await identity.revoke_oauth_client(client_id)

    run_async(go)
    click.echo(f"revoked OAuth client {client_id}")


@oauth_client.command("list")
@org_option
@output_option
@database_option
def list_(org_ref: str | None, output: str, database_url: str | None) -> None:
    """List OAuth clients by id (never their secrets): name, service user, read-only, revoked.

    \b
    Example:
      tasktrack oauth-client list --org acme
    """

    async def fetch(identity: IdentityService) -> list[Row]:
        return [
            {
                "id": c.id,
                "org": c.org_id,
                "name": c.name,
                "user": c.user_id,
                "read_only": c.read_only,
                "revoked": c.revoked,
                "created": when(c.created_at),
            }
            for c in await identity.oauth_clients(org_ref)
        ]

    list_rows(database_url, output, fetch)
