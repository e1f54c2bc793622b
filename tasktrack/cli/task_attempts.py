"""How ``tasktrack tasks attempts ID`` prints a task's attempts (issue 13): a table, or data.

The command itself is in :mod:`tasktrack.cli.tasks`, beside the other task commands.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from tasktrack.client.attempts import TaskAttempt

_COLUMNS = ("attempt", "worker", "started", "ended", "duration", "outcome", "reason")


def print_attempts(found: list[TaskAttempt], output: str) -> None:
    """Print ``found`` as a table (attempt, worker, started, ended, duration, outcome,
    reason) or as ``json``/``yaml``/``csv`` data in the API's field names."""
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
    console = Console(highlight=False)  # as the other task tables: wide when piped
    (console if console.is_terminal else Console(highlight=False, width=200)).print(table)


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
