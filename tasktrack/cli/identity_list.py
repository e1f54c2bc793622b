"""What the identity ``list`` commands share: fetch through the identity service, print a
table or JSON. Only fields safe to show are ever put in a row: no secret, no hash."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from tasktrack.cli.common import DATABASE_URL_HELP, run_async
from tasktrack.cli.identity_db import identity_service
from tasktrack.cli.settings import load_settings
from tasktrack.service.identity import IdentityService

Row = dict[str, Any]
Fetch = Callable[[IdentityService], Awaitable[Sequence[Row]]]

output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table, or one JSON array.",
)
database_option = click.option("--database-url", help=DATABASE_URL_HELP)
org_option = click.option("--org", "org_ref", help="Only this organisation (id or name).")


def when(seconds: int) -> str:
    """A stored Unix time as ISO 8601 UTC."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def list_rows(database_url: str | None, output: str, fetch: Fetch) -> None:
    """Open the database, fetch the rows, print them."""
    settings = load_settings(database_url=database_url)

    async def go() -> Sequence[Row]:
        async with identity_service(settings) as identity:
            return await fetch(identity)

    rows = run_async(go)
    if output == "json":
        click.echo(json.dumps(list(rows), indent=2))
    else:
        _table(rows)


def _table(rows: Sequence[Row]) -> None:
    if not rows:
        click.echo("(none)", err=True)
        return
    columns = list(rows[0])
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
