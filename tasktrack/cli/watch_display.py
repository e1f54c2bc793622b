"""What ``tasks watch`` (and ``submit --wait``) draws while it follows a task (issue 16 adds
the ETA and the no-worker warning).

On a terminal: a live bar with status, steps, elapsed time and an ETA from the recent step
rate (:mod:`tasktrack.client.eta`). Otherwise (a pipe, a file, CI): one line per change of
status or step, exactly ``STATUS CUR/TOTAL``, so scripts can read it. Warnings go to stderr
(above the bar on a terminal), once each.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Task as BarTask
from rich.text import Text

from tasktrack.client import ClientError, Task, TaskStatus, TaskTrackClient
from tasktrack.client.eta import Eta, format_eta
from tasktrack.client.workers import ServerWarning


def progress_line(task: Task) -> str:
    return f"{task.status} {task.current_step}/{task.total_step}"


class _EtaColumn(ProgressColumn):
    """``eta 0:42`` while the task runs (redrawn as it counts down), blank otherwise."""

    def __init__(self, remaining: Callable[[], float | None], running: Callable[[], bool]):
        super().__init__()
        self._remaining = remaining
        self._running = running

    def render(self, task: BarTask) -> Text:
        return Text(format_eta(self._remaining()) if self._running() else "", style="cyan")


class Display:
    """A live progress bar on a terminal; otherwise one line per change of status or step."""

    def __init__(self) -> None:
        self.console = Console(highlight=False)
        self.last = ""
        self.progress: Progress | None = None
        self.eta = Eta()
        self.status: TaskStatus | None = None

    def update(self, task: Task) -> None:
        self.status = task.status
        if task.status is TaskStatus.ACTIVE:
            started = task.last_run_at.timestamp() if task.last_run_at else None
            self.eta.observe(task.current_step, task.total_step, started)
        if not self.console.is_interactive:  # a pipe, a file, TERM=dumb, TTY_INTERACTIVE=0
            if (line := progress_line(task)) != self.last:
                click.echo(line)
                self.last = line
            return
        if self.progress is None:  # started with the first state, so a failed read draws none
            self._start()
        assert self.progress is not None
        total = task.total_step or None
        self.progress.update(
            self.bar, description=str(task.status), completed=task.current_step, total=total
        )

    def _start(self) -> None:
        running = self._running
        columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn())
        eta = _EtaColumn(self.eta.remaining, running)
        self.progress = Progress(*columns, TimeElapsedColumn(), eta, console=self.console)
        self.progress.start()
        self.bar = self.progress.add_task("", total=None)

    def _running(self) -> bool:
        return self.status is TaskStatus.ACTIVE

    def warn(self, message: str) -> None:
        """``warning: message`` on stderr (above the bar when one is drawn)."""
        if self.progress is not None:
            self.progress.console.print(f"warning: {message}", markup=False, highlight=False)
        else:
            click.echo(f"warning: {message}", err=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def check_served(client: TaskTrackClient, task: Task, display: Display) -> None:
    """Warn when ``task`` is queued and no live worker serves its type (said once, at the
    start: instead of waiting silently). A server without ``/workers`` says nothing."""
    if task.status is not TaskStatus.QUEUED:
        return
    try:
        served = client.workers(state="live").serves(task.name)
    except ClientError:  # an older server (404), or a refusal: the watch goes on regardless
        return
    if not served:
        display.warn(no_worker_message(task.name))


def no_worker_message(name: str) -> str:
    return (
        f"no live worker serves task type {name!r}: it stays queued until one that does "
        "starts (`tasktrack workers` lists them)"
    )


@contextmanager
def server_warnings() -> Iterator[list[str]]:
    """Collect the server's warnings (``X-Tasktrack-Warning``) raised inside the block."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ServerWarning)
        yield found
    found += [str(w.message) for w in caught if issubclass(w.category, ServerWarning)]
