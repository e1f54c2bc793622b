"""``tasktrack schedules list``: the periodic schedules of the caller's organisation, each
with its next and last run, read from a server (like the ``tasks`` commands)."""

from __future__ import annotations

import logging
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table

from tasktrack.cli.config_file import client_from, connection_options
from tasktrack.cli.exit_codes import exit_codes
from tasktrack.cli.tasks import handled
from tasktrack.client.schedules import Schedule


@click.group()
@connection_options
def schedules() -> None:
    """Periodic schedules (declared in the task modules with @registry.periodic)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no INFO line per request


@schedules.command("list", epilog=exit_codes())
@connection_options
@click.pass_context
@handled
def list_schedules(ctx: click.Context) -> None:
    """Each schedule with its task type, cron expression, next and last run.

    \b
    Example:
      tasktrack schedules list
    """
    with client_from(ctx) as client:
        found = client.schedules()
    if not found:
        click.echo("no periodic schedules for this organisation")
        return
    console = Console(highlight=False)
    # A pipe gets whole rows (rich would wrap them at 80 columns).
    (console if console.is_terminal else Console(highlight=False, width=250)).print(_table(found))


def _table(found: tuple[Schedule, ...]) -> Table:
    table = Table("SCHEDULE", "TASK", "CRON", "TIMEZONE", "NEXT RUN", "LAST RUN", "LAST TASK")
    for s in found:
        table.add_row(
            s.key,
            s.task,
            s.cron,
            s.timezone,
            _when(s.next_run),
            _when(s.last_run),
            s.last_task_id or "-",
        )
    return table


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat().replace("+00:00", "Z")
