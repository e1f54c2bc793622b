"""``tasktrack tasks submit --at/--delay/--priority`` and ``tasktrack worker --queue`` as
subprocesses against a real server (issue 14)."""

from __future__ import annotations

import subprocess
import sys
import time

from tasktrack.client import TaskTrackClient
from tests.e2e.test_cli_tasks import Cli, assert_one_error_line, cli

__all__ = ["cli"]  # the module-scoped server fixture, shared with test_cli_tasks


def details_of(cli: Cli, task_id: str) -> tuple[float, int, str]:
    with TaskTrackClient(cli.live.url, api_key=cli.live.api_key) as client:
        facts = client.details(task_id)
        assert client.get(task_id).status.value == "queued"
    assert facts.run_at is not None
    return facts.run_at.timestamp(), facts.priority, facts.queue


def test_submit_with_a_delay_and_a_priority(cli: Cli) -> None:
    before = time.time()
    result = cli("submit", "demo.sleep", "--delay", "1h", "--priority", "4")
    assert result.returncode == 0, result.stderr
    run_at, priority, queue = details_of(cli, result.stdout.strip())
    assert before + 3600 <= run_at <= time.time() + 3600
    assert (priority, queue) == (4, "default")


def test_submit_at_a_time_given_as_unix_seconds_or_iso_8601(cli: Cli) -> None:
    at = round(time.time()) + 600
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    for given in (str(at), iso):
        result = cli("submit", "demo.sleep", "--at", given)
        assert result.returncode == 0, result.stderr
        assert details_of(cli, result.stdout.strip())[0] == at


def test_bad_scheduling_options_are_one_line_errors(cli: Cli) -> None:
    assert "not a duration" in assert_one_error_line(
        cli("submit", "demo.sleep", "--delay", "soon"), 2
    )
    assert "not both" in assert_one_error_line(
        cli("submit", "demo.sleep", "--delay", "1", "--at", "1"), 2
    )
    assert "runAt" in assert_one_error_line(cli("submit", "demo.sleep", "--at", "tomorrow"), 2)
    assert "priority" in assert_one_error_line(
        cli("submit", "demo.sleep", "--priority", "99999"), 2
    )


def test_a_worker_for_a_queue_no_task_type_uses_is_refused_in_one_line(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tasktrack", "worker", "--queue", "nope", "--database-url",
         f"sqlite:///{tmp_path}/w.db"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and "'nope'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
