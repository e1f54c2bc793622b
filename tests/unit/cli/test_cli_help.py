"""Every command's help: a ``--database-url`` that says what it takes, and an exit-code
footer listing only the codes that command can end with."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from tasktrack.cli.main import cli


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


ALL = sorted(commands())


@pytest.mark.parametrize("path", ALL, ids=" ".join)
def test_every_database_url_option_says_what_it_takes(path: tuple[str, ...]) -> None:
    for param in command_at(path).params:
        if "--database-url" in getattr(param, "opts", ()):
            help_text = getattr(param, "help", "") or ""
            assert "sqlite:///" in help_text and "postgresql://" in help_text, path
            assert "TASKTRACK_DATABASE_URL" in help_text


def footer(*path: str) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output.split("Exit codes:", 1)[1] if "Exit codes:" in result.output else ""


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        (("tasks", "list"), "0127"),
        (("tasks", "get"), "01267"),
        (("tasks", "cancel"), "012678"),
        (("tasks", "watch"), "01234567"),
        (("tasks", "submit"), "0123457"),
        (("tasks", "result"), "0123467" + "8"),
        (("tasks", "logs"), "01267"),
        (("tasks",), "012345678"),
    ],
)
def test_the_exit_code_footer_lists_only_what_the_command_can_end_with(
    path: tuple[str, ...], codes: str
) -> None:
    listed = "".join(line.split()[0] for line in footer(*path).strip().splitlines())
    assert listed == codes


@pytest.mark.parametrize(
    "path", [("serve",), ("worker",), ("apikey", "list"), ("org", "create"), ("db", "upgrade")]
)
def test_commands_without_those_codes_have_no_footer(path: tuple[str, ...]) -> None:
    assert footer(*path) == ""
