"""The ``tasktrack`` command. Each command is a thin layer over the services.

Every option can also be set by an environment variable (``TASKTRACK_<OPTION>``). Failures are
one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from tasktrack.config import Settings
from tasktrack.errors import TaskTrackError

T = TypeVar("T")

#: Exit codes shared by every command.
EXIT_USAGE = 2
EXIT_FAILURE = 1


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine for a command, turning expected errors into one clean line."""
    try:
        return asyncio.run(fn())  # type: ignore[arg-type]
    except TaskTrackError as exc:
        fail(exc.message)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    raise AssertionError("unreachable")


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
        raise


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "TASKTRACK"}
)
@click.version_option(package_name="tasktrack")
def cli() -> None:
    """tasktrack: define, run and track long-running tasks.

    \b
    Example:
      tasktrack serve --port 8000
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    from tasktrack.cli import apikey, db, oauth, org, serve, user, worker
    from tasktrack.cli.tasks import tasks

    cli.add_command(serve.serve)
    cli.add_command(worker.worker)
    cli.add_command(db.db)
    cli.add_command(apikey.apikey)
    cli.add_command(tasks)
    cli.add_command(org.org)
    cli.add_command(user.user)
    cli.add_command(oauth.oauth_client)
    cli(prog_name="tasktrack")
