"""``tasktrack tasks``: submit, get, list, cancel, watch, re-run tasks and read their results.

A thin layer over :class:`tasktrack.client.TaskTrackClient`, so it works against any server of
the API. Failures are one ``error: ...`` line on stderr and an exit code from :data:`EXIT_CODES`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ParamSpec, cast

import click
from rich.console import Console
from rich.table import Table

from tasktrack.cli.common import EXIT_FAILURE, EXIT_USAGE, fail
from tasktrack.cli.config_file import client_from, connection_options
from tasktrack.cli.exit_codes import (
    EXIT_AUTH,
    EXIT_CODES,
    EXIT_CONFLICT,
    EXIT_NOT_FOUND,
    EXIT_TASK_CANCELLED,
    EXIT_TASK_ERROR,
    EXIT_TIMEOUT,
    exit_codes,
)
from tasktrack.cli.schedule_options import schedule_of, schedule_options
from tasktrack.cli.watch_display import Display, check_served, progress_line, server_warnings
from tasktrack.client import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Task,
    TaskStatus,
    TaskTrackClient,
    Unauthorized,
    WaitTimeout,
)
from tasktrack.client.formats import Format, cell, write_task, write_tasks

P = ParamSpec("P")

#: How a watched task's final status becomes the exit code.
STATUS_EXIT = {
    TaskStatus.DONE: 0,
    TaskStatus.ERROR: EXIT_TASK_ERROR,
    TaskStatus.CANCELLED: EXIT_TASK_CANCELLED,
}

#: Error answers of the server with an exit code of their own (the rest: EXIT_FAILURE).
API_EXIT: tuple[tuple[type[ApiError], int], ...] = (
    (BadRequest, EXIT_USAGE),
    (PayloadTooLarge, EXIT_USAGE),
    (Unauthorized, EXIT_AUTH),
    (Forbidden, EXIT_AUTH),
    (NotFound, EXIT_NOT_FOUND),
    (Conflict, EXIT_CONFLICT),
)
OUTPUTS = click.Choice(["table", "json", "yaml", "csv"])
_ID = re.compile(r"[0-9a-f]{24}")


def handled(fn: Callable[P, None]) -> Callable[P, None]:
    """Turn every expected failure into one ``error:`` line and its exit code."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except WaitTimeout as exc:
            last = exc.last
            seen = f" (last seen: {progress_line(last)})" if isinstance(last, Task) else ""
            fail(f"{exc}{seen}", EXIT_TIMEOUT)
        except ApiError as exc:
            fail(exc.summary(), exit_code(exc))
        except ClientError as exc:
            fail(str(exc), EXIT_FAILURE)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
        except BrokenPipeError:  # e.g. `tasktrack tasks list --all | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(EXIT_FAILURE) from None

    return run


def exit_code(exc: ApiError) -> int:
    """The exit code for an error answer of the server."""
    return next((code for kind, code in API_EXIT if isinstance(exc, kind)), EXIT_FAILURE)


def _check_id(task_id: str) -> str:
    if not _ID.fullmatch(task_id):
        raise ValueError(f"task id must be 24 lowercase hex characters, got {task_id[:40]!r}")
    return task_id


@click.group(epilog=EXIT_CODES)
@connection_options
def tasks() -> None:
    """Submit, inspect, list, cancel and watch tasks on a tasktrack server.

    \b
    Example:
      export TASKTRACK_URL=http://127.0.0.1:8000 TASKTRACK_API_KEY=tt_...
      tasktrack tasks submit demo.sleep --data '{"seconds": 5, "steps": 5}' --wait
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no INFO line per request


@tasks.command(epilog=exit_codes(EXIT_TASK_ERROR, EXIT_TASK_CANCELLED, EXIT_TIMEOUT))
@click.argument("name")
@click.option("--data", "data_arg", metavar="JSON|@FILE", help="Parameters: JSON, @file or @-.")
@click.option("--project", "project_id", help="Put the task in this project (24 hex chars).")
@click.option("--wait", is_flag=True, help="Watch it until it ends; the exit code says how.")
@click.option("--timeout", type=click.FloatRange(min=0), help="With --wait: give up after S s.")
@click.option("--output", "-o", type=OUTPUTS, help="Print the created task (default: its id).")
@click.option("--idempotency-key", help="Send as Idempotency-Key: a repeat returns the same task.")
@click.option("--unique-key", help="Return the unfinished task holding this key, if any.")
@schedule_options
@connection_options
@click.pass_context
@handled
def submit(
    ctx: click.Context,
    name: str,
    data_arg: str | None,
    project_id: str | None,
    wait: bool,
    timeout: float | None,
    output: str | None,
    idempotency_key: str | None,
    unique_key: str | None,
    run_at: str | None,
    delay: str | None,
    priority: int | None,
) -> None:
    """Create a task of type NAME and print its id.

    With --output the whole task is printed instead; with --wait the command then follows the
    task like `tasks watch` and its exit code tells how the task ended; a done task's result
    (what its handler returned, if anything) is printed last, as JSON.

    \b
    Example:
      ID=$(tasktrack tasks submit demo.sleep --data '{"seconds": 10}')
      tasktrack tasks submit demo.sleep --data @params.json --wait --timeout 60
      tasktrack tasks submit report.build --delay 30m --priority 5
    """
    data = parse_data(data_arg)
    options = schedule_of(run_at, delay, priority)
    if timeout is not None and not wait:
        raise ValueError("--timeout applies only with --wait")
    with client_from(ctx) as client:
        with server_warnings() as warned:
            task = client.create(
                name,
                data,
                project_id=project_id,
                idempotency_key=idempotency_key,
                unique_key=unique_key,
                **options,
            )
        for message in warned:
            click.echo(f"warning: {message}", err=True)
        if output:
            _print_one(task, output)
        else:
            click.echo(task.id)
        if wait:
            _watch(client, task.id, timeout, show_result=True, warned=bool(warned))


@tasks.command(epilog=exit_codes(EXIT_NOT_FOUND))
@click.argument("task_id", metavar="ID")
@click.option("--output", "-o", type=OUTPUTS, default="table", show_default=True)
@connection_options
@click.pass_context
@handled
def get(ctx: click.Context, task_id: str, output: str) -> None:
    """Show one task.

    \b
    Example:
      tasktrack tasks get 65a1f0c2e4b0a1b2c3d4e5f6 --output json
    """
    with client_from(ctx) as client:
        _print_one(client.get(_check_id(task_id)), output)


@tasks.command("list", epilog=exit_codes())
@click.option("--status", multiple=True, help="Only this status (repeatable, or a,b).")
@click.option("--name", multiple=True, help="Only this task type (repeatable, or a,b).")
@click.option("--sort", help="E.g. createdAt:asc (default: newest first).")
@click.option("--limit", type=click.IntRange(1, 100), help="Page size, 1 to 100 (default 25).")
@click.option("--all", "every", is_flag=True, help="Every page, not just the first.")
@click.option("--output", "-o", type=OUTPUTS, default="table", show_default=True)
@connection_options
@click.pass_context
@handled
def list_(
    ctx: click.Context,
    status: tuple[str, ...],
    name: tuple[str, ...],
    sort: str | None,
    limit: int | None,
    every: bool,
    output: str,
) -> None:
    """List tasks (newest first): one page, or every page with --all.

    With --all, pages are fetched through the cursors as they are printed.

    \b
    Example:
      tasktrack tasks list --status queued,active --limit 50
      tasktrack tasks list --name demo.sleep --all --output csv > tasks.csv
    """
    query: dict[str, Any] = {"status": _joined(status), "name": _joined(name), "sort": sort}
    with client_from(ctx) as client:
        if every:
            _print_many(client.list(page_size=limit, **query), output)
            return
        page = client.list_page(limit=limit, **query)
        note = f"{len(page.items)} of {page.total} tasks"
        if page.next_cursor:
            note += "; --all for every page"
        _print_many(page.items, output, note if page.next_cursor or output == "table" else None)


@tasks.command(epilog=exit_codes(EXIT_NOT_FOUND, EXIT_CONFLICT))
@click.argument("task_id", metavar="ID")
@connection_options
@click.pass_context
@handled
def cancel(ctx: click.Context, task_id: str) -> None:
    """Cancel a task (a queued one at once; a running one goes to cancelling first).

    \b
    Example:
      tasktrack tasks cancel 65a1f0c2e4b0a1b2c3d4e5f6
    """
    with client_from(ctx) as client:
        task = client.cancel(_check_id(task_id))
        click.echo(f"task {task.id} is {task.status}")


@tasks.command(
    epilog=exit_codes(EXIT_TASK_ERROR, EXIT_TASK_CANCELLED, EXIT_TIMEOUT, EXIT_NOT_FOUND)
)
@click.argument("task_id", metavar="ID")
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after S seconds (exit 5).")
@connection_options
@click.pass_context
@handled
def watch(ctx: click.Context, task_id: str, timeout: float | None) -> None:
    """Follow a task until it ends; the exit code tells how it ended.

    On a terminal this is a live progress bar; otherwise (a pipe, a file, CI) one line per
    change of status or step ("active 3/10"). Either way the last line is "task ID ended
    STATUS" (with the fail reason after an error).

    \b
    Example:
      tasktrack tasks watch 65a1f0c2e4b0a1b2c3d4e5f6 --timeout 300 || echo "not done: $?"
    """
    with client_from(ctx) as client:
        _watch(client, _check_id(task_id), timeout)


def _watch(
    client: TaskTrackClient,
    task_id: str,
    timeout: float | None,
    show_result: bool = False,
    warned: bool = False,
) -> None:
    display = Display()
    final: Task | None = None
    try:
        for final in client.watch(task_id, timeout=timeout):
            display.update(final)
            if not warned:  # the first state: say now if nothing will ever run it
                check_served(client, final, display)
                warned = True
    finally:
        display.close()
    assert final is not None
    reason = f": {final.fail_reason}" if final.status is TaskStatus.ERROR else ""
    click.echo(f"task {final.id} ended {final.status}{reason}")
    if show_result and final.status is TaskStatus.DONE:
        _echo_stored_result(client, final.id)
    raise SystemExit(STATUS_EXIT.get(final.status, EXIT_FAILURE))


def parse_data(arg: str | None) -> dict[str, Any]:
    """``--data``: a JSON object, ``@file`` or ``@-`` (stdin); ValueError if it is not one."""
    if arg is None:
        return {}
    text = arg
    if arg.startswith("@"):
        source = arg[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read --data file {source!r}: {exc}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--data is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("--data must be a JSON object, e.g. '{\"seconds\": 5}'")
    return value


def _joined(values: tuple[str, ...]) -> str | None:
    return ",".join(values) if values else None


def _print_one(task: Task, output: str) -> None:
    if output != "table":
        write_task(task, cast(Format, output), sys.stdout)
        return
    table = Table("field", "value", show_header=False)
    for key, value in task.to_json().items():
        table.add_row(key, cell(value))
    _console().print(table)


def _print_many(items: Iterable[Task], output: str, note: str | None = None) -> None:
    """Print as the tasks arrive (but a table needs them all first)."""
    if output != "table":
        write_tasks(items, cast(Format, output), sys.stdout)
        if note:
            click.echo(f"note: {note}", err=True)
        return
    table = Table("_id", "name", "status", "step", "createdAt", "lastFinishedAt", caption=note)
    for t in items:
        created = t.created_at.strftime("%Y-%m-%d %H:%M:%S")
        step = f"{t.current_step}/{t.total_step}"
        table.add_row(t.id, t.name, str(t.status), step, created, cell(t.raw.get("lastFinishedAt")))
    _console().print(table)


def _console() -> Console:
    """A console that does not squeeze tables when stdout is a pipe or a file."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


# -- results (issue 13; the result and rerun commands are in tasktrack.cli.task_results) --------


def _echo_stored_result(client: TaskTrackClient, task_id: str) -> None:
    """Print a done task's result, if it has one (a server without results: nothing)."""
    try:
        value = client.result(task_id).value
    except (NotFound, BadRequest):
        return
    if value is not None:
        click.echo(json_text(value))


def json_text(value: Any) -> str:
    """A result as the CLI prints it: indented JSON, non-ASCII kept."""
    return json.dumps(value, indent=2, ensure_ascii=False)
