"""Bad settings are one line on stderr and exit code 2, for every command that reads them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CASES = [
    ({"TASKTRACK_PORT": "eighty"}, "TASKTRACK_PORT must be an integer"),
    ({"TASKTRACK_LOG_LEVEL": "trace"}, "TASKTRACK_LOG_LEVEL must be one of"),
    ({"TASKTRACK_SQLITE_SYNCHRONOUS": "SOMETIMES"}, "TASKTRACK_SQLITE_SYNCHRONOUS must be"),
    ({"TASKTRACK_CONCURRENCY": "0"}, "concurrency must be at least 1"),
    ({"TASKTRACK_LEASE_SECONDS": "-1"}, "TASKTRACK_LEASE_SECONDS must be positive"),
    ({"TASKTRACK_ACCESS_TOKEN_TTL": "soon"}, "TASKTRACK_ACCESS_TOKEN_TTL must be a number"),
    ({"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "x"}, "TASKTRACK_AUTH_FAILURES_PER_MINUTE must be"),
    ({"TASKTRACK_LOG_FORMAT": "xml"}, "TASKTRACK_LOG_FORMAT must be auto, text or json"),
    ({"TASKTRACK_HEALTH_PORT": "70000"}, "TASKTRACK_HEALTH_PORT must be 0..65535"),
    ({"TASKTRACK_QUEUES": "nope"}, "no task type is in queue 'nope'"),  # was a traceback
]


@pytest.mark.parametrize(("env", "message"), CASES)
def test_serve_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tasktrack", "serve", "--port", "0"],
        env={**os.environ, "TASKTRACK_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["worker"], ["apikey", "create"], ["db", "status"]])
def test_other_commands_refuse_bad_settings_too(tmp_path: Path, command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tasktrack", *command],
        env={
            **os.environ,
            "TASKTRACK_DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
            "TASKTRACK_PORT": "eighty",
        },
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: TASKTRACK_PORT must be an integer, got 'eighty'"


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", *args],
        env={**os.environ, "TASKTRACK_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


#: ``--app`` names a module that does not exist, so the command stops right after reading its
#: settings: exit 1 and this line if the settings were good.
NO_APP = ["--app", "no_such_module_for_tests"]
MISSING_APP = "error: cannot import task module 'no_such_module_for_tests'"
#: Names Click's ``auto_envvar_prefix`` used to read (``TASKTRACK_<COMMAND>_<OPTION>``, and
#: the group's own ``--version``), a second, undocumented set. Each would stop the command
#: differently (exit 2, or the version and exit 0) if it were still read.
UNDOCUMENTED = [
    (["worker"], {"TASKTRACK_WORKER_CONCURRENCY": "0"}),
    (["worker"], {"TASKTRACK_WORKER_LEASE_SECONDS": "-1"}),
    (["worker"], {"TASKTRACK_WORKER_METRICS_PORT": "none"}),
    (["serve", "--port", "0"], {"TASKTRACK_SERVE_CONCURRENCY": "0"}),
    (["serve"], {"TASKTRACK_SERVE_PORT": "eighty"}),  # no --port, which would win
    (["worker"], {"TASKTRACK_VERSION": "1"}),
]


@pytest.mark.parametrize(("command", "env"), UNDOCUMENTED, ids=lambda v: str(v))
def test_per_command_variables_are_not_read(
    tmp_path: Path, command: list[str], env: dict[str, str]
) -> None:
    result = _run([*command, *NO_APP], env, tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().startswith(MISSING_APP), result.stderr


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"]])
def test_the_documented_variable_is_read(tmp_path: Path, command: list[str]) -> None:
    result = _run([*command, *NO_APP], {"TASKTRACK_CONCURRENCY": "0"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: concurrency must be at least 1"


@pytest.mark.parametrize(
    ("command", "code"),
    [(["worker"], 1), (["serve", "--port", "0"], 2)],  # as each refuses a bad queue
)
def test_in_process_with_no_async_task_type_is_refused_in_one_line(
    tmp_path: Path, command: list[str], code: int
) -> None:
    # The "fast" queue holds only test.fast, a sync handler: nothing an in-process
    # worker could run, so it must not start and silently run nothing.
    result = subprocess.run(
        [sys.executable, "-m", "tasktrack", *command, "--app", "tests.apps.handlers"],
        env={
            **os.environ,
            "TASKTRACK_DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
            "TASKTRACK_IN_PROCESS": "1",
            "TASKTRACK_QUEUES": "fast",
        },
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == code
    assert "only async handlers" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
