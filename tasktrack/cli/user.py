"""``tasktrack user``: users of an organisation, their passwords, and disabling them.

Passwords are read from standard input (one line), never from an option, so they stay out of
shell history and ``ps``. At a terminal the prompt hides the input and asks twice.
"""

from __future__ import annotations

import sys

import click

from tasktrack.cli.common import fail, run_async
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
from tasktrack.service.identity import IdentityService


def read_password() -> str:
    """A password from the terminal (hidden, confirmed) or the first line of stdin."""
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail("no password on standard input (or pass --no-password)")
    return line


@click.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.option("--org", "org_ref", required=True, help="Organisation id or name.")
@click.option("--email", required=True, help="The user's e-mail: the OAuth2 username.")
@click.option("--no-password", is_flag=True, help="Create a user that signs in with keys only.")
@click.option("--database-url", help=DATABASE_URL_HELP)
def create(org_ref: str, email: str, no_password: bool, database_url: str | None) -> None:
    """Create a user (password from stdin) and print the user's id.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | tasktrack user create --org acme --email ann@acme.test
    """
    settings = load_settings(database_url=database_url)
    password = None if no_password else read_password()

    async def go() -> str:
        async with identity_service(settings) as identity:
            org = await identity.find_organisation(org_ref)
            return (await identity.create_user(org.id, email, password)).id

    user_id = run_async(go)
    click.echo(f"created user {email.strip().lower()}")
    click.echo(user_id)


@user.command("set-password")
@click.argument("user_ref")
@click.option("--database-url", help=DATABASE_URL_HELP)
def set_password(user_ref: str, database_url: str | None) -> None:
    """Set a user's password (from stdin); USER_REF is an e-mail or user id.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | tasktrack user set-password admin@localhost
    """
    settings = load_settings(database_url=database_url)
    password = read_password()

    async def go() -> None:
        async with identity_service(settings) as identity:
            found = await identity.find_user(user_ref)
            await identity.set_password(found.id, password)

    run_async(go)
    click.echo(f"password set for {user_ref}")


@user.command("disable")
@click.argument("user_ref")
@click.option("--database-url", help=DATABASE_URL_HELP)
def disable(user_ref: str, database_url: str | None) -> None:
    """Disable a user: their API keys and OAuth2 tokens stop working at once.

    \b
    Example:
      tasktrack user disable ann@acme.test
    """
    settings = load_settings(database_url=database_url)

    async def go() -> None:
        async with identity_service(settings) as identity:
            await identity.disable_user((await identity.find_user(user_ref)).id)

    run_async(go)
    click.echo(f"disabled user {user_ref}")


@user.command("list")
@org_option
@output_option
@database_option
def list_(org_ref: str | None, output: str, database_url: str | None) -> None:
    """List users: id, organisation, e-mail, whether they have a password, disabled, created.

    \b
    Example:
      tasktrack user list --org acme
    """

    async def fetch(identity: IdentityService) -> list[Row]:
        return [
            {
                "id": u.id,
                "org": u.org_id,
                "email": u.email,
                "password": u.password_hash is not None,
                "disabled": u.disabled,
                "created": when(u.created_at),
            }
            for u in await identity.users(org_ref)
        ]

    list_rows(database_url, output, fetch)
