"""``tasktrack tasks result|rerun|attempts|logs``: what a task leaves behind once it runs.

Commands of the :func:`tasktrack.cli.tasks.tasks` group, kept in a module of their own (the
group's module is long enough); importing this module adds them to the group, which is why the
CLI's command table points ``tasks`` here.
"""

from __future__ import annotations

import click

from tasktrack.cli.common import DATABASE_URL_HELP, EXIT_FAILURE
from tasktrack.cli.config_file import client_from, connection_options
from tasktrack.cli.exit_codes import (
    EXIT_CONFLICT,
    EXIT_NOT_FOUND,
    EXIT_TASK_CANCELLED,
    EXIT_TASK_ERROR,
    exit_codes,
)
from tasktrack.cli.task_attempts import print_attempts
from tasktrack.cli.task_logs import print_logs
from tasktrack.cli.tasks import (
    OUTPUTS,
    STATUS_EXIT,
    _check_id,
    _print_one,
    handled,
    json_text,
    tasks,
)
from tasktrack.client import TaskStatus

__all__ = ["attempts", "logs", "prune", "rerun", "result", "tasks"]


@tasks.command(
    epilog=exit_codes(EXIT_TASK_ERROR, EXIT_TASK_CANCELLED, EXIT_NOT_FOUND, EXIT_CONFLICT)
)
@click.argument("task_id", metavar="ID")
@connection_options
@click.pass_context
@handled
def result(ctx: click.Context, task_id: str) -> None:
    """Print a finished task's result: what its handler returned, as JSON (null if nothing).

    A task that ended in error prints its fail reason on stderr (exit 3), a cancelled one
    exits 4; one that has not finished yet is a conflict (exit 8).

    \b
    Example:
      tasktrack tasks result 65a1f0c2e4b0a1b2c3d4e5f6 | jq .answer
    """
    with client_from(ctx) as client:
        outcome = client.result(_check_id(task_id))
    if outcome.status is TaskStatus.ERROR:
        click.echo(f"task {outcome.task_id} ended error: {outcome.fail_reason}", err=True)
    elif outcome.status is TaskStatus.CANCELLED:
        click.echo(f"task {outcome.task_id} ended cancelled", err=True)
    else:
        click.echo(json_text(outcome.value))
    raise SystemExit(STATUS_EXIT.get(outcome.status, EXIT_FAILURE))


@tasks.command(epilog=exit_codes(EXIT_NOT_FOUND, EXIT_CONFLICT))
@click.argument("task_id", metavar="ID")
@click.option("--output", "-o", type=OUTPUTS, help="Print the new task (default: its id).")
@connection_options
@click.pass_context
@handled
def rerun(ctx: click.Context, task_id: str, output: str | None) -> None:
    """Run a finished task again: a new task with its name, data and project, linked to it.

    Prints the new task's id. A task that has not finished is a conflict (exit 8).

    \b
    Example:
      tasktrack tasks rerun 65a1f0c2e4b0a1b2c3d4e5f6
    """
    with client_from(ctx) as client:
        task = client.rerun(_check_id(task_id))
    if output:
        _print_one(task, output)
    else:
        click.echo(task.id)


@tasks.command(epilog=exit_codes(EXIT_NOT_FOUND))
@click.argument("task_id", metavar="ID")
@click.option("--output", "-o", type=OUTPUTS, default="table", show_default=True)
@connection_options
@click.pass_context
@handled
def attempts(ctx: click.Context, task_id: str, output: str) -> None:
    """Show every attempt of a task: worker, start, end, duration, outcome, reason.

    \b
    Example:
      tasktrack tasks attempts 65a1f0c2e4b0a1b2c3d4e5f6 --output json
    """
    with client_from(ctx) as client:
        print_attempts(client.attempts(_check_id(task_id)), output)


@tasks.command(epilog=exit_codes(EXIT_NOT_FOUND))
@click.argument("task_id", metavar="ID")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the task ends.")
@connection_options
@click.pass_context
@handled
def logs(ctx: click.Context, task_id: str, follow: bool) -> None:
    """Print a task's log: what its handler logged through ctx.logger (and printed, for task
    types registered with capture_output=True): time, attempt, level, message.

    With --follow, new lines are printed as they are stored; the command ends when the task
    has ended and every line is printed.

    \b
    Example:
      tasktrack tasks logs 65a1f0c2e4b0a1b2c3d4e5f6 --follow
    """
    with client_from(ctx) as client:
        print_logs(client, _check_id(task_id), follow)


@tasks.command()
@click.option("--older-than", metavar="D", help="Finished more than D ago (7d, 12h, 30m, or s).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["done", "error", "cancelled"]),
    help="Only this status (repeatable; default: all three).",
)
@click.option("--dry-run", is_flag=True, help="Print how many would go, per status; delete none.")
@click.option("--database-url", help=DATABASE_URL_HELP)
def prune(
    older_than: str | None, statuses: tuple[str, ...], dry_run: bool, database_url: str | None
) -> None:
    """Delete finished tasks (with results, attempts, logs) past retention. Server side: opens
    the database itself, like `tasktrack db`; without --older-than the TASKTRACK_RETENTION_*
    ages apply (0: keep). Runs in small batches beside live servers and workers.

    \b
    Example:
      tasktrack tasks prune --older-than 30d --status error --dry-run
    """
    from tasktrack.cli.prune import prune_tasks  # settings and storage: only for this command

    prune_tasks(older_than, statuses, dry_run, database_url)
