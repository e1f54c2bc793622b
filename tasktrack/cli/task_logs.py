"""Printing a task's stored log lines for ``tasktrack tasks logs ID [--follow]``."""

from __future__ import annotations

from collections.abc import Iterator

import click

from tasktrack.client import TaskTrackClient
from tasktrack.client.logs import LogLine


def print_logs(client: TaskTrackClient, task_id: str, follow: bool) -> None:
    """Every stored line; with ``follow``, then new ones until the task ends."""
    lines = client.follow_logs(task_id) if follow else _stored(client, task_id)
    for line in lines:
        click.echo(format_line(line))


def _stored(client: TaskTrackClient, task_id: str) -> Iterator[LogLine]:
    after: int | None = None
    while True:
        page = client.logs(task_id, after, limit=1000)
        yield from page.items
        if not page.items:
            return
        after = page.next


def format_line(line: LogLine) -> str:
    """``2026-01-02 03:04:05.678 #1 INFO    message`` (UTC; ``#1``: the attempt)."""
    at = line.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{at} #{line.attempt} {line.level:<7} {line.message}"
