"""``tasktrack tasks`` as a subprocess against a real server with its worker: every command, the
watch output with and without a terminal, every exit code, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tasktrack.client import TaskTrackClient
from tests.integration.conftest import _free_port
from tests.integration.test_client import LiveServer, running_server

FOREVER = '{"seconds": 600, "steps": 6000}'
QUICK = '{"seconds": 0.6, "steps": 3}'
#: Variables that would make rich treat a pipe as a terminal, or change the connection.
_SCRUB = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR", "TASKTRACK_CONFIG")


class Cli:
    """Runs ``python -m tasktrack tasks ...`` with the server's URL and key in the environment."""

    def __init__(self, live: LiveServer, home: Path) -> None:
        self.live = live
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        env.update(
            XDG_CONFIG_HOME=str(home),  # no config file of the machine's user
            TASKTRACK_URL=live.url,
            TASKTRACK_API_KEY=live.api_key,
            TERM="xterm",
        )
        self.env = env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tasktrack", "tasks", *args]

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def submit(self, name: str, data: str = "{}") -> str:
        """Create a task through the Python client (setup need not pay for a process)."""
        with TaskTrackClient(self.live.url, api_key=self.live.api_key) as client:
            return client.create(name, json.loads(data)).id


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    with running_server(tmp_path_factory.mktemp("cli")) as live:
        yield Cli(live, tmp_path_factory.mktemp("home"))


def assert_one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("command", "exits"),
    [
        ([], "012345678"),  # the group lists every code
        (["submit"], "0123457"),  # each command only those it can end with
        (["get"], "01267"),
        (["list"], "0127"),
        (["cancel"], "012678"),
        (["watch"], "01234567"),
        (["logs"], "01267"),
    ],
)
def test_every_command_has_help_with_an_example_and_the_exit_codes(
    cli: Cli, command: list[str], exits: str
) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert "Example:" in result.stdout and "tasktrack tasks" in result.stdout
    assert "--url" in result.stdout and "TASKTRACK_API_KEY" in result.stdout
    codes = re.findall(r"^\s+(\d)  ", result.stdout.split("Exit codes:")[1], re.M)
    assert codes == list(exits)


def test_submit_prints_the_id_and_get_shows_it_in_every_format(cli: Cli) -> None:
    submitted = cli("submit", "demo.sleep", "--data", QUICK)
    assert submitted.returncode == 0 and submitted.stderr == ""
    task_id = submitted.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{24}", task_id)
    as_json = json.loads(cli("get", task_id, "--output", "json").stdout)
    assert (as_json["_id"], as_json["name"], as_json["data"]) == (
        task_id,
        "demo.sleep",
        {"seconds": 0.6, "steps": 3},
    )
    assert yaml.safe_load(cli("get", task_id, "-o", "yaml").stdout)["_id"] == task_id
    rows = list(csv.DictReader(io.StringIO(cli("get", task_id, "-o", "csv").stdout)))
    assert rows[0]["_id"] == task_id and json.loads(rows[0]["data"])["steps"] == 3
    table = cli("get", task_id)
    assert table.returncode == 0 and task_id in table.stdout and "totalStep" in table.stdout


def test_submit_output_json_prints_the_created_task(cli: Cli) -> None:
    result = cli("submit", "demo.fail", "--output", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["status"] == "queued"


def progress_lines(stdout: str) -> list[tuple[str, int, int]]:
    found = re.findall(
        r"^(queued|active|cancelling|done|error|cancelled) (\d+)/(\d+)$", stdout, re.M
    )
    return [(status, int(cur), int(total)) for status, cur, total in found]


def test_watch_without_a_terminal_prints_a_line_per_change(cli: Cli) -> None:
    # submit --wait reads the task right after creating it, so the first state is seen even
    # on a slow machine; `tasks watch` itself is what follows it.
    result = cli("submit", "demo.sleep", "--data", '{"seconds": 1.2, "steps": 4}', "--wait")
    assert result.returncode == 0 and result.stderr == ""
    task_id, *lines, last = result.stdout.splitlines()
    assert last == f"task {task_id} ended done"
    seen = progress_lines(result.stdout)
    assert len(seen) == len(lines)  # nothing but progress lines in between
    assert seen[0][0] in ("queued", "active") and seen[-1] == ("done", 4, 4)
    steps = [cur for _, cur, _ in seen]
    assert steps == sorted(steps) and len(set(steps)) >= 2
    assert len(set(seen)) == len(seen)  # a line per change, no repeats
    again = cli("watch", task_id)  # a finished task: one line, then the end
    assert (again.returncode, again.stdout) == (0, f"done 4/4\ntask {task_id} ended done\n")


def test_a_failed_task_exits_3_with_its_reason(cli: Cli) -> None:
    result = cli("submit", "demo.fail", "--data", '{"message": "disk full"}', "--wait")
    assert result.returncode == 3
    assert result.stdout.splitlines()[-1].endswith("ended error: disk full")


def test_a_cancelled_task_exits_4(cli: Cli) -> None:
    task_id = cli.submit("demo.sleep", FOREVER)
    cancel = cli("cancel", task_id)
    assert cancel.returncode == 0
    assert re.fullmatch(rf"task {task_id} is (cancelling|cancelled)\n", cancel.stdout)
    watch = cli("watch", task_id, "--timeout", "30")
    assert watch.returncode == 4, watch.stderr
    assert watch.stdout.splitlines()[-1] == f"task {task_id} ended cancelled"


def test_a_watch_that_times_out_exits_5(cli: Cli) -> None:
    task_id = cli.submit("demo.sleep", FOREVER)
    try:
        result = cli("watch", task_id, "--timeout", "0.5")
        assert result.returncode == 5
        assert re.fullmatch(
            rf"error: task {task_id} did not finish within 0.5 s \(last seen: \w+ \d+/6000\)\n",
            result.stderr,
        )
        assert progress_lines(result.stdout)  # the lines seen before giving up
    finally:
        cli("cancel", task_id)


def test_cancelling_a_finished_task_exits_8(cli: Cli) -> None:
    task_id = cli.submit("demo.fail")
    assert cli("watch", task_id).returncode == 3
    assert "409 Conflict" in assert_one_error_line(cli("cancel", task_id), 8)


FAILURES: list[tuple[str, list[str], dict[str, str], int, str]] = [
    ("not-found", ["get", "0" * 24], {}, 6, "404 Not Found"),
    ("bad-id", ["watch", "not-an-id"], {}, 2, "24 lowercase hex"),
    ("bad-key", ["list"], {"TASKTRACK_API_KEY": "tt_wrong"}, 7, "401 Unauthorized"),
    ("no-key", ["get", "0" * 24], {"TASKTRACK_API_KEY": ""}, 7, "401 Unauthorized"),
    ("bad-json", ["submit", "demo.sleep", "--data", "{oops"], {}, 2, "not valid JSON"),
    ("not-an-object", ["submit", "demo.sleep", "--data", "[1]"], {}, 2, "JSON object"),
    ("missing-file", ["submit", "demo.sleep", "--data", "@/no/such.json"], {}, 2, "cannot read"),
    ("unknown-type", ["submit", "demo.nope"], {}, 2, "400 Bad Request"),
    ("server-400", ["list", "--status", "sleeping"], {}, 2, "unknown status"),
    ("bad-data", ["submit", "demo.sleep", "--data", '{"steps": 0}'], {}, 2, "data.steps"),
    ("bad-url", ["list"], {"TASKTRACK_URL": "localhost:8000"}, 2, "server URL"),
    ("timeout-without-wait", ["submit", "demo.fail", "--timeout", "1"], {}, 2, "--wait"),
]


@pytest.mark.parametrize(
    ("args", "env", "code", "message"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_each_failure_is_one_line_on_stderr_with_its_exit_code(
    cli: Cli, args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    assert message in assert_one_error_line(cli(*args, env=env), code)


def test_server_down_exits_1(cli: Cli) -> None:
    down = {"TASKTRACK_URL": f"http://127.0.0.1:{_free_port()}"}
    assert "cannot connect" in assert_one_error_line(cli("list", env=down), 1)


def test_a_read_only_key_cannot_submit_exit_7(cli: Cli) -> None:
    result = cli("submit", "demo.fail", env={"TASKTRACK_API_KEY": cli.live.read_only_key})
    assert "403 Forbidden" in assert_one_error_line(result, 7)


def test_data_from_a_file_and_from_stdin(cli: Cli, tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text('{"message": "from a file"}')
    from_file = cli("submit", "demo.fail", "--data", f"@{params}", "-o", "json")
    assert json.loads(from_file.stdout)["data"] == {"message": "from a file"}
    from_stdin = cli("submit", "demo.fail", "--data", "@-", "-o", "json", stdin='{"message": "x"}')
    assert json.loads(from_stdin.stdout)["data"] == {"message": "x"}


def test_list_one_page_all_pages_and_filters(cli: Cli) -> None:
    for _ in range(3):
        cli.submit("demo.fail")
    everything = json.loads(cli("list", "--all", "--limit", "2", "-o", "json").stdout)
    ids = [item["_id"] for item in everything]
    assert len(ids) == len(set(ids)) >= 3
    page = cli("list", "--limit", "2")
    assert page.returncode == 0
    assert f"2 of {len(ids)} tasks; --all for every page" in page.stdout
    rows = list(csv.DictReader(io.StringIO(cli("list", "--all", "-o", "csv").stdout)))
    assert sorted(row["_id"] for row in rows) == sorted(ids)
    failed = cli("list", "--name", "demo.fail", "--limit", "1", "-o", "yaml")
    assert [item["name"] for item in yaml.safe_load(failed.stdout)] == ["demo.fail"]
    assert failed.stderr.startswith("note: 1 of ")  # more pages: said on stderr, not in the YAML
    statuses = cli("list", "--status", "error,cancelled", "--all", "-o", "json").stdout
    assert {item["status"] for item in json.loads(statuses)} <= {"error", "cancelled"}


def test_url_and_key_from_the_config_file_and_flags_over_environment(
    cli: Cli, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'url = "{cli.live.url}"\napi_key = "{cli.live.api_key}"\n')
    only_file = {"TASKTRACK_URL": "", "TASKTRACK_API_KEY": "", "TASKTRACK_CONFIG": str(config)}
    assert cli("list", "--limit", "1", "-o", "json", env=only_file).returncode == 0
    bad_env = {"TASKTRACK_API_KEY": "tt_wrong", "TASKTRACK_URL": "http://127.0.0.1:1"}
    flags = ["--url", cli.live.url, "--api-key", cli.live.api_key]
    assert cli("list", *flags, "-o", "json", env=bad_env).returncode == 0
    assert cli(*flags, "list", "-o", "json", env=bad_env).returncode == 0  # on the group too
    wrong_key = {"TASKTRACK_API_KEY": "tt_wrong", "TASKTRACK_CONFIG": str(config)}
    assert cli("list", env=wrong_key).returncode == 7  # the environment wins over the file
    assert cli("list", env=bad_env).returncode == 1  # the environment's URL is used


def read_pty(fd: int, process: subprocess.Popen[Any], deadline: float) -> bytes:
    """Everything written to the terminal until the process exits (EIO) or the deadline."""
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def test_watch_on_a_terminal_draws_a_live_progress_bar(cli: Cli) -> None:
    leader, follower = pty.openpty()
    env = {**cli.env, "COLUMNS": "100"}
    command = cli.command(
        "submit", "demo.sleep", "--data", '{"seconds": 0.8, "steps": 4}', "--wait"
    )
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    try:
        output = read_pty(leader, process, time.monotonic() + 30).decode("utf-8", "replace")
        assert process.wait(30) == 0
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    task_id = plain.split()[0]
    assert "\r" in plain and "━" in plain  # redrawn in place, with a bar
    assert "4/4" in plain and f"task {task_id} ended done" in plain
    assert not progress_lines(plain.replace("\r", "\n"))  # no line-per-change output here
