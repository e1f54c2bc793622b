"""``tasktrack workers``: the worker registry of a server (issue 16), through its API.

Lists live workers and those stopped or dead within ``TASKTRACK_WORKER_RETENTION`` (a worker
is dead once it missed three heartbeats), with what each serves and how busy it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from tasktrack.cli.config_file import client_from, connection_options
from tasktrack.cli.exit_codes import exit_codes
from tasktrack.cli.tasks import handled
from tasktrack.client import WorkerInfo

_STATES = ("live", "stopped", "dead")
_COLUMNS = ("id", "state", "host:pid", "running", "queues", "task types", "started", "heartbeat")


def _ago(at: datetime | None) -> str:
    if at is None:
        return "-"
    seconds = max(0, round((datetime.now(UTC) - at).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _row(w: WorkerInfo) -> tuple[str, ...]:
    return (
        w.id,
        w.state,
        f"{w.host}:{w.pid}",
        f"{w.running}/{w.concurrency}",
        ", ".join(w.queues),
        ", ".join(w.task_types),
        _ago(w.started_at),
        _ago(w.last_heartbeat_at),
    )


def _json(w: WorkerInfo) -> dict[str, object]:
    times = {"startedAt": w.started_at, "lastHeartbeatAt": w.last_heartbeat_at}
    return {
        "id": w.id,
        "state": w.state,
        "host": w.host,
        "pid": w.pid,
        **{k: v.isoformat() if v else None for k, v in times.items()},
        "stoppedAt": w.stopped_at.isoformat() if w.stopped_at else None,
        "taskTypes": list(w.task_types),
        "queues": list(w.queues),
        "concurrency": w.concurrency,
        "running": w.running,
        "runningTaskIds": list(w.running_task_ids),
    }


@click.command(epilog=exit_codes())
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(_STATES),
    help="Only workers in this state (repeatable). Default: all three.",
)
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table")
@connection_options
@click.pass_context
@handled
def workers(ctx: click.Context, states: tuple[str, ...], output: str) -> None:
    """List the server's workers: live ones, and those stopped or dead recently.

    A worker is dead when it missed three heartbeats without deregistering (killed, frozen,
    cut off from the database); a clean shutdown leaves it stopped. RUNNING is attempts
    running now over the worker's concurrency.

    \b
    Example:
      tasktrack workers --state live
      tasktrack workers -o json | jq '.[].taskTypes'
    """
    with client_from(ctx) as client:
        found = client.workers(state=",".join(states) or None)
    if output == "json":
        click.echo(json.dumps([_json(w) for w in found.items], indent=2))
        return
    table = Table(
        "id", "state", "host:pid", "running", "queues", "task types", "started", "heartbeat"
    )
    for w in found.items:
        table.add_row(*_row(w))
    console = Console(highlight=False)
    (console if console.is_terminal else Console(highlight=False, width=200)).print(table)
    live = sum(w.state == "live" for w in found.items)
    click.echo(f"{live} live of {len(found.items)} workers listed")
