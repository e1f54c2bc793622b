"""What every ``tasktrack`` command shares: exit codes, the one-line failure, and running a
coroutine. (The server-side commands' settings and task types: :mod:`tasktrack.cli.settings`.)

Subcommand modules import this module, never :mod:`tasktrack.cli.main` (which imports them to
assemble the group), so the CLI has no import cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from tasktrack.errors import TaskTrackError

T = TypeVar("T")

#: The ``--database-url`` option's help, the same on every command that has it.
DATABASE_URL_HELP = (
    "Database URL: sqlite:///relative.db, sqlite:////absolute.db or "
    "postgresql://user@host/db. [env: TASKTRACK_DATABASE_URL; default sqlite:///data/tasktrack.db]"
)
#: A command failed (the server, the database, a task type...).
EXIT_FAILURE = 1
#: Bad arguments or a bad setting (also Click's own code for usage errors).
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """End the command with ``error: message`` on stderr and exit code ``code``."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def run_async(fn: Callable[[], Coroutine[Any, Any, T]], *, long_running: bool = False) -> T:
    """Run a coroutine for a command, turning expected errors into one clean line.

    ``long_running`` (the worker): on uvloop where it is installed, as uvicorn already runs
    the API server (and the worker embedded in it). Measured on a PostgreSQL drain, the
    standalone worker used 6-14 % less CPU per task on it (bench/README.md, "Stop 24"),
    mostly psycopg's waits: a statement's round trip costs the client ~56 µs of CPU on
    uvloop against ~88 on asyncio's own loop. Short commands keep asyncio's loop.
    """
    factory = _uvloop_factory() if long_running else None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(fn())
    except TaskTrackError as exc:
        fail(exc.message)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # installed with uvicorn[standard] where it exists (not on Windows)
    except ImportError:
        return None
    return uvloop.new_event_loop
