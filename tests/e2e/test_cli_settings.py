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
