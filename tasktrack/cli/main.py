"""The ``tasktrack`` command: assembles the subcommands into one group.

Each command is a thin layer over the services. Settings come from ``TASKTRACK_<SETTING>``
environment variables (:class:`tasktrack.config.Settings`, all listed in the README) and a
command's flags override them; there is no second, per-command set of variables. Failures are
one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import logging

import click

#: Subcommand -> "module:attribute". Imported only when a command is used: a spawned worker
#: child imports the console script (hence this module) again, and should not pay for
#: uvicorn, rich and the API to do so.
COMMANDS = {
    "apikey": "tasktrack.cli.apikey:apikey",
    "db": "tasktrack.cli.db:db",
    "oauth-client": "tasktrack.cli.oauth:oauth_client",
    "org": "tasktrack.cli.org:org",
    "secret": "tasktrack.cli.secret:secret",
    "schedules": "tasktrack.cli.schedules:schedules",
    "serve": "tasktrack.cli.serve:serve",
    "tasks": "tasktrack.cli.task_results:tasks",  # tasks + result/rerun/attempts/logs
    "user": "tasktrack.cli.user:user",
    "webhooks": "tasktrack.cli.webhooks:webhooks",
    "worker": "tasktrack.cli.worker:worker",
    "workers": "tasktrack.cli.workers:workers",
}


class LazyGroup(click.Group):
    """A group whose subcommands (:data:`COMMANDS`) are imported when looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    """The console script's entry point."""
    cli(prog_name="tasktrack")
