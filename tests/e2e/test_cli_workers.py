"""``tasktrack workers``, the no-worker warning of ``tasks submit``/``tasks watch``, and the
ETA of the watch's progress bar, against real servers (issue 16)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_cli_tasks import Cli, read_pty
from tests.integration.conftest import start_server, stop_server
from tests.integration.test_client import LiveServer, running_server


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A server with its in-process worker (which registers): demo types are served."""
    with running_server(tmp_path_factory.mktemp("served")) as live:
        yield Cli(live, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A server without any worker: nothing it accepts will run."""
    server = start_server(tmp_path_factory.mktemp("idle"))
    try:
        live = LiveServer(server.base_url, server.api_key, server.api_key)
        yield Cli(live, tmp_path_factory.mktemp("home-idle"))
    finally:
        stop_server(server)


def workers(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", "workers", *args],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_workers_lists_the_live_worker_and_what_it_serves(cli: Cli) -> None:
    table = workers(cli)
    assert table.returncode == 0, table.stderr
    assert "live" in table.stdout and "demo.sleep" in table.stdout
    assert "1 live of 1 workers listed" in table.stdout

    listed = workers(cli, "--state", "live", "-o", "json")
    (worker,) = json.loads(listed.stdout)
    assert worker["state"] == "live" and "demo.sleep" in worker["taskTypes"]
    assert worker["queues"] == ["default"] and worker["concurrency"] == 4 and worker["pid"] > 0


def test_workers_with_a_bad_state_is_a_usage_error(cli: Cli) -> None:
    result = workers(cli, "--state", "asleep")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_submit_served_says_nothing_extra(cli: Cli) -> None:
    result = cli("submit", "demo.sleep", "--data", '{"seconds": 0}')
    assert result.returncode == 0 and result.stderr == ""


def test_submit_and_watch_warn_when_no_live_worker_serves_the_type(idle: Cli) -> None:
    submitted = idle("submit", "demo.sleep", "--data", '{"seconds": 0}')
    assert submitted.returncode == 0
    assert submitted.stderr.startswith("warning: no-live-worker: ")
    task_id = submitted.stdout.strip()

    watched = idle("watch", task_id, "--timeout", "1")
    assert watched.returncode == 5  # still queued when the timeout passed
    first, *rest = watched.stderr.splitlines()
    assert first == (
        "warning: no live worker serves task type 'demo.sleep': it stays queued until one "
        "that does starts (`tasktrack workers` lists them)"
    )
    assert rest[-1].startswith("error: ")


def test_the_terminal_bar_shows_an_eta_from_the_step_rate(cli: Cli) -> None:
    leader, follower = pty.openpty()
    env = {**cli.env, "COLUMNS": "120"}
    data = '{"seconds": 3, "steps": 6}'
    command = cli.command("submit", "demo.sleep", "--data", data, "--wait")
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    try:
        output = read_pty(leader, process, time.monotonic() + 60).decode("utf-8", "replace")
        assert process.wait(30) == 0
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    etas = re.findall(r"eta (\d+):(\d\d)", plain)
    assert etas, plain[-2000:]
    # A 3-second task never claims more than its length.
    assert all(int(m) * 60 + int(s) <= 4 for m, s in etas)


def test_the_warning_is_none_of_the_lines_scripts_read(idle: Cli, tmp_path: Path) -> None:
    result = idle("submit", "demo.sleep", "-o", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["status"] == "queued"  # stdout stays pure JSON
    assert "no-live-worker" in result.stderr
