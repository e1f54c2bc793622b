"""What the server-side commands (serve, worker, db and the identity commands) read before
they start: the settings (which also set up logging), and the task types. The ``tasks``
commands are clients and read neither (their connection: :mod:`tasktrack.cli.config_file`)."""

from __future__ import annotations

from typing import Any

from tasktrack.cli.common import EXIT_USAGE, fail
from tasktrack.config import Settings
from tasktrack.errors import TaskTrackError
from tasktrack.loader import load_registry
from tasktrack.observability.logs import configure_logging
from tasktrack.service.registry import TaskRegistry


def load_settings(**flags: Any) -> Settings:
    """The settings from ``TASKTRACK_*`` variables, with the command's flags on top (a flag
    of None was not given). A bad value ends the command with exit code 2."""
    try:
        settings = Settings.from_env(**flags)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    # From here on every line the command logs has the one format the settings name.
    configure_logging(settings.log_format, settings.log_level)
    return settings


def registry_of(settings: Settings) -> TaskRegistry:
    """The task types of ``settings.app_modules``; a module that cannot be loaded ends the
    command (exit code 1)."""
    try:
        return load_registry(settings.app_modules)
    except TaskTrackError as exc:
        fail(exc.message)
