"""``tasktrack apikey``: create and revoke API keys."""

from __future__ import annotations

from pathlib import Path

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
from tasktrack.cli.private_file import write_private
from tasktrack.cli.settings import load_settings
from tasktrack.errors import TaskTrackError
from tasktrack.service.identity import IdentityService


@click.group()
def apikey() -> None:
    """Manage API keys."""


@apikey.command("create")
@click.option(
    "--user", "user", help="User id or e-mail the key acts as (default: the default user)."
)
@click.option("--read-only", is_flag=True, help="The key can read and list, not create or cancel.")
@click.option("--label", default="", help="A note to recognise the key by.")
@click.option(
    "--keep-in",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the key in this file (owner-only): print the key the file holds while it "
    "still works, else create one and write it there (`make run` does this).",
)
@click.option("--database-url", help=DATABASE_URL_HELP)
def create(
    user: str | None,
    read_only: bool,
    label: str,
    keep_in: Path | None,
    database_url: str | None,
) -> None:
    """Create an API key and print it as the last line (it is shown only once).

    \b
    Example:
      KEY=$(tasktrack apikey create --label ci | tail -n 1)
    """
    settings = load_settings(database_url=database_url)

    async def go() -> str:
        async with identity_service(settings) as identity:
            kept = await _still_valid(identity, keep_in)
            if kept is not None:
                click.echo(f"reusing the API key kept in {keep_in}")
                return kept
            _, default_user = await identity.ensure_default()
            user_id = (await identity.find_user(user)).id if user else default_user.id
            key, plaintext = await identity.create_api_key(
                user_id, read_only=read_only, label=label
            )
            click.echo(f"created API key {key.id}{' (read-only)' if read_only else ''}")
            if keep_in is not None:
                write_private(keep_in, plaintext + "\n")
            return plaintext

    click.echo(run_async(go))


async def _still_valid(identity: IdentityService, path: Path | None) -> str | None:
    """The key kept at ``path`` if it still authenticates on this database (not revoked,
    its user enabled, the database the same), else None."""
    if path is None or not path.is_file():
        return None
    kept = path.read_text("utf-8").strip()
    try:
        await identity.authenticate_api_key(kept)
    except TaskTrackError:
        return None
    return kept


@apikey.command("revoke")
@click.argument("key_id")
@click.option("--database-url", help=DATABASE_URL_HELP)
def revoke(key_id: str, database_url: str | None) -> None:
    """Revoke an API key by its id (the 24 hex characters after `tt_`).

    \b
    Example:
      tasktrack apikey revoke 65a1f0c2e4b0a1b2c3d4e5f6
    """
    settings = load_settings(database_url=database_url)

    async def go() -> None:
        async with identity_service(settings) as identity:
            await identity.revoke_api_key(key_id)

    run_async(go)
    click.echo(f"revoked API key {key_id}")


@apikey.command("list")
@org_option
@output_option
@database_option
def list_(org_ref: str | None, output: str, database_url: str | None) -> None:
    """List API keys by id (never the keys themselves): user, label, read-only, revoked.

    \b
    Example:
      tasktrack apikey list --output json
    """

    async def fetch(identity: IdentityService) -> list[Row]:
        return [
            {
                "id": k.id,
                "org": k.org_id,
                "user": k.user_id,
                "label": k.label,
                "read_only": k.read_only,
                "revoked": k.revoked,
                "created": when(k.created_at),
            }
            for k in await identity.api_keys(org_ref)
        ]

    list_rows(database_url, output, fetch)
