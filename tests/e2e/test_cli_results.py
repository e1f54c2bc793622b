"""``tasktrack tasks result``, ``tasks rerun`` and ``submit --wait`` printing the result, as
subprocesses against a real server whose worker runs the test handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.test_cli_tasks import Cli
from tests.integration.conftest import start_server, stop_server
from tests.integration.test_api_results import worker_env
from tests.integration.test_client import LiveServer


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    server = start_server(tmp_path_factory.mktemp("cli-results"), env=worker_env())
    try:
        yield Cli(LiveServer(server.base_url, server.api_key, ""), tmp_path_factory.mktemp("h"))
    finally:
        stop_server(server)


def test_submit_wait_prints_the_result_last(cli: Cli) -> None:
    value = {"answer": 42, "list": [1, "ü"]}
    run = cli("submit", "test.answer", "--data", json.dumps({"value": value}), "--wait")
    assert run.returncode == 0, run.stderr
    task_id = run.stdout.splitlines()[0]
    ended = f"task {task_id} ended done\n"
    assert ended in run.stdout
    assert json.loads(run.stdout.split(ended, 1)[1]) == value


def test_submit_wait_of_a_handler_returning_none_prints_no_result(cli: Cli) -> None:
    run = cli("submit", "test.noop", "--wait")
    assert run.returncode == 0, run.stderr
    task_id = run.stdout.splitlines()[0]
    assert run.stdout.endswith(f"task {task_id} ended done\n")


def test_tasks_result_prints_the_json(cli: Cli) -> None:
    task_id = cli("submit", "test.answer", "--wait").stdout.splitlines()[0]
    shown = cli("result", task_id)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert json.loads(shown.stdout) == {"answer": 42}


def test_tasks_result_of_a_failed_task_exits_3_with_its_reason(cli: Cli) -> None:
    task_id = cli("submit", "test.oversized", "--wait").stdout.splitlines()[0]
    shown = cli("result", task_id)
    assert shown.returncode == 3 and shown.stdout == ""
    assert shown.stderr == (
        f"task {task_id} ended error: result is 1048577 bytes, over the 1 MiB limit\n"
    )


def test_tasks_result_of_an_unfinished_task_is_a_conflict(cli: Cli) -> None:
    task_id = cli.submit("test.cooperative")  # runs until cancelled
    shown = cli("result", task_id)
    assert shown.returncode == 8 and shown.stderr.startswith("error: ")
    assert cli("cancel", task_id).returncode == 0


def test_tasks_rerun_prints_the_new_id_linked_to_the_original(cli: Cli) -> None:
    failed = cli("submit", "test.fail", "--data", '{"message": "nope"}', "--wait")
    assert failed.returncode == 3
    original = failed.stdout.splitlines()[0]
    again = cli("rerun", original)
    assert again.returncode == 0, again.stderr
    new_id = again.stdout.strip()
    assert len(new_id) == 24 and new_id != original
    watched = cli("watch", new_id)
    assert watched.returncode == 3 and watched.stdout.endswith("ended error: nope\n")
