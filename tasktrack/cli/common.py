"""What every ``tasktrack`` command shares: exit codes, the one-line failure, running a
coroutine, and loading the settings.

Subcommand modules import this module, never :mod:`tasktrack.cli.main` (which imports them to
assemble the group), so the CLI has no import cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from tasktrack.config import Settings
from tasktrack.errors import TaskTrackError
from tasktrack.loader import load_registry
from tasktrack.service.registry import TaskRegistry

T = TypeVar("T")

#: A command failed (the server, the database, a task type...).
EXIT_FAILURE = 1
#: Bad arguments or a bad setting (also Click's own code for usage errors).
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """End the command with ``error: message`` on stderr and exit code ``code``."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def run_async(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine for a command, turning expected errors into one clean line."""
    try:
        return asyncio.run(fn())
    except TaskTrackError as exc:
        fail(exc.message)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def load_settings(**flags: Any) -> Settings:
    """The settings from ``TASKTRACK_*`` variables, with the command's flags on top (a flag
    of None was not given). A bad value ends the command with exit code 2."""
    try:
        return Settings.from_env(**flags)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def registry_of(settings: Settings) -> TaskRegistry:
    """The task types of ``settings.app_modules``; a module that cannot be loaded ends the
    command (exit code 1)."""
    try:
        return load_registry(settings.app_modules)
    except TaskTrackError as exc:
        fail(exc.message)
