"""``tasktrack db``: inspect and upgrade the database schema."""

from __future__ import annotations

import click

from tasktrack.cli.common import DATABASE_URL_HELP, run_async
from tasktrack.cli.settings import load_settings
from tasktrack.storage.factory import open_stores
from tasktrack.storage.schema import SchemaStatus, schema_status


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@click.option("--database-url", help=DATABASE_URL_HELP)
def upgrade(database_url: str | None) -> None:
    """Apply pending migrations (idempotent; safe while servers and workers run).

    \b
    Example:
      TASKTRACK_DATABASE_URL=postgresql://tasktrack@db/tasktrack tasktrack db upgrade
    """
    settings = load_settings(database_url=database_url)

    async def go() -> tuple[int, int]:
        before = await schema_status(settings.database_url)
        stores = await open_stores(settings.database_url)  # applies what is pending
        await stores.close()
        return before.current, before.latest

    current, latest = run_async(go)
    if current == latest:
        click.echo(f"schema is up to date (version {latest})")
    else:
        click.echo(f"schema upgraded from version {current} to {latest}")


@db.command()
@click.option("--database-url", help=DATABASE_URL_HELP)
def status(database_url: str | None) -> None:
    """Show the schema version of the database and of this tasktrack.

    \b
    Example:
      tasktrack db status
    """
    settings = load_settings(database_url=database_url)
    st = run_async(lambda: schema_status(settings.database_url))
    click.echo(
        f"{st.backend} schema version {st.current}; this tasktrack knows {st.latest}: {_state(st)}"
    )


def _state(st: SchemaStatus) -> str:
    if st.current == st.latest:
        return "up to date"
    if st.current < st.latest:
        return f"{st.pending} migration(s) pending"
    return "NEWER than this tasktrack: upgrade tasktrack"
