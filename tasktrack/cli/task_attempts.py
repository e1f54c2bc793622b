"""``tasktrack tasks attempts ID``: every run of a task, as a table or as data (issue 13).

Registered on the ``tasks`` group by :mod:`tasktrack.cli.tasks` (imported at its end).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click
import yaml
from rich.table import Table

from tasktrack.cli.config_file import client_from, connection_options
from tasktrack.cli.tasks import EXIT_CODES, OUTPUTS, _check_id, _console, handled, tasks
from tasktrack.client.attempts import TaskAttempt

_COLUMNS = ("attempt", "worker", "started", "ended", "duration", "outcome", "reason")


@tasks.command(epilog=EXIT_CODES)
@click.argument("task_id", metavar="ID")
@click.option("--output", "-o", type=OUTPUTS, default="table", show_default=True)
@connection_options
@click.pass_context
@handled
def attempts(ctx: click.Context, task_id: str, output: str) -> None:
    """Show every attempt of a task: worker, start, end, duration, outcome, reason.

    \b
    Example:
      tasktrack tasks attempts 65a1f0c2e4b0a1b2c3d4e5f6
      tasktrack tasks attempts 65a1f0c2e4b0a1b2c3d4e5f6 --output json
    """
    with client_from(ctx) as client:
        found = client.attempts(_check_id(task_id))
    if output == "table":
        _table(found)
    else:
        _write([_doc(a) for a in found], output)


def _doc(a: TaskAttempt) -> dict[str, Any]:
    """One attempt as the API's JSON says it."""
    return {
        "attempt": a.number,
        "workerId": a.worker_id,
        "startedAt": _iso(a.started_at),
        "endedAt": _iso(a.ended_at),
        "outcome": a.outcome,
        "reason": a.reason,
        "durationMs": a.duration_ms,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _write(docs: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(docs, indent=2, ensure_ascii=False) + "\n")
    elif output == "yaml":
        sys.stdout.write(yaml.safe_dump(docs, sort_keys=False, allow_unicode=True))
    else:
        writer = csv.writer(sys.stdout)
        writer.writerow(docs[0].keys() if docs else _doc_keys())
        writer.writerows([["" if v is None else v for v in d.values()] for d in docs])


def _doc_keys() -> Sequence[str]:
    return ("attempt", "workerId", "startedAt", "endedAt", "outcome", "reason", "durationMs")


def _table(found: list[TaskAttempt]) -> None:
    table = Table(*_COLUMNS, caption=None if found else "no attempts yet")
    for a in found:
        table.add_row(
            str(a.number),
            a.worker_id,
            _when(a.started_at),
            _when(a.ended_at),
            _duration(a.duration_ms),
            a.outcome,
            a.reason,
        )
    _console().print(table)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int | None) -> str:
    """``1.25s``, ``3m 05s``; empty while the attempt runs."""
    if ms is None:
        return ""
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes}m {seconds:02d}s"
