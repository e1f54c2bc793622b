"""Per-task logs end to end: ``tasktrack serve`` (API + worker, handlers in child processes) on
SQLite and PostgreSQL, read over HTTP in every media type, followed with the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tasktrack.domain.history import LOG_LINES_PER_TASK
from tests import pg
from tests.integration.conftest import _free_port, _wait_healthy
from tests.integration.test_client import _keys

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(180)


@dataclass
class Server:
    url: str
    key: str
    log: Path

    def http(self, accept: str = "application/json") -> httpx.Client:
        headers = {"X-API-Key": self.key, "Accept": accept}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def create(self, name: str, data: dict[str, Any] | None = None) -> str:
        with self.http() as client:
            response = client.post("/v2.0/tasks", json={"name": name, "data": data or {}})
        assert response.status_code == 201, response.text
        task_id: str = response.json()["_id"]
        return task_id

    def settled(self, task_id: str) -> dict[str, Any]:
        with self.http() as client:
            body: dict[str, Any] = client.get(f"/v2.0/tasks/{task_id}", params={"wait": 30}).json()
            deadline = time.monotonic() + 60
            while body["status"] not in ("done", "error", "cancelled"):
                assert time.monotonic() < deadline, body
                body = client.get(f"/v2.0/tasks/{task_id}", params={"wait": 30}).json()
        return body

    def logs(self, task_id: str, accept: str = "application/json", **params: Any) -> httpx.Response:
        with self.http(accept) as client:
            return client.get(f"/v2.0/tasks/{task_id}/logs", params=params)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("logs")
    if request.param == "sqlite":
        yield from _serve(workdir, f"sqlite:///{workdir.resolve()}/tasks.db")
    else:
        for url in pg.database_from(request.getfixturevalue("pg_template")):
            yield from _serve(workdir, url)


def _serve(workdir: Path, db_url: str) -> Iterator[Server]:
    key, _ = asyncio.run(_keys(db_url))
    env = {
        **os.environ,
        "TASKTRACK_DATABASE_URL": db_url,
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_CONCURRENCY": "4",
        "TASKTRACK_POLL_INTERVAL": "0.1",
        "TASKTRACK_APP_MODULES": "tests.apps.log_handlers",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    command = [sys.executable, "-m", "tasktrack", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            assert _wait_healthy(process, url, log), log.read_text()
            yield Server(url, key, log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def test_three_lines_in_order_with_levels_and_attempt(server: Server) -> None:
    task_id = server.create("logs.three")
    assert server.settled(task_id)["status"] == "done"
    body = server.logs(task_id).json()
    assert [(x["level"], x["message"], x["attempt"]) for x in body["items"]] == [
        ("INFO", "first line", 1),
        ("WARNING", "second line", 1),
        ("ERROR", "third line", 1),
    ]
    assert body["finished"] is True and body["next"] == body["items"][-1]["seq"]
    assert body["items"][0]["at"].endswith("Z")
    # The worker's stderr shows the handler's lines with the task id and attempt.
    assert f"task {task_id} attempt 1: second line" in server.log.read_text()
    # Paging by the cursor.
    first = server.logs(task_id, limit=1).json()
    assert [x["message"] for x in first["items"]] == ["first line"]
    assert first["finished"] is False
    rest = server.logs(task_id, after=first["next"]).json()
    assert [x["message"] for x in rest["items"]] == ["second line", "third line"]


def test_every_media_type_and_both_prefixes(server: Server) -> None:
    task_id = server.create("logs.three")
    server.settled(task_id)
    hal = server.logs(task_id, "application/hal+json")
    assert hal.json()["_links"]["task"]["href"] == f"/v2.0/tasks/{task_id}"
    with server.http() as client:
        new = client.get(f"/new/v2.0/tasks/{task_id}/logs").json()
    assert [x["message"] for x in new["items"]] == ["first line", "second line", "third line"]
    root = ET.fromstring(server.logs(task_id, "application/xml").content)
    assert root.tag == "logs" and root.findtext("finished") == "true"
    assert [e.findtext("message") for e in root.find("items")] == [  # type: ignore[union-attr]
        "first line",
        "second line",
        "third line",
    ]
    rows = list(csv.DictReader(io.StringIO(server.logs(task_id, "text/csv").text)))
    assert [r["level"] for r in rows] == ["INFO", "WARNING", "ERROR"]


def test_beyond_the_cap_a_marker_then_the_newest_lines(server: Server) -> None:
    task_id = server.create("logs.flood")
    server.settled(task_id)
    items = server.logs(task_id, limit=1000).json()["items"]
    assert len(items) == LOG_LINES_PER_TASK
    assert (items[0]["level"], items[0]["message"]) == ("DROPPED", "… 21 earlier lines dropped")
    assert items[1]["message"] == "flood 21"
    assert items[-1]["message"] == f"flood {LOG_LINES_PER_TASK + 19}"


def test_capture_output_lines_appear(server: Server) -> None:
    task_id = server.create("logs.print")
    server.settled(task_id)
    items = server.logs(task_id).json()["items"]
    assert [(x["level"], x["message"]) for x in items] == [
        ("STDOUT", "hello from stdout"),
        ("STDERR", "hello from stderr"),
        ("INFO", "and from the logger"),
    ]


def test_a_long_poll_answers_when_a_line_arrives(server: Server) -> None:
    task_id = server.create("logs.slow", {"lines": 3, "gap": 1.0})
    first = server.logs(task_id, wait=20).json()
    assert first["items"] and first["items"][0]["message"] == "tick 0"
    started = time.monotonic()
    second = server.logs(task_id, after=first["next"], wait=20).json()
    assert [x["message"] for x in second["items"]] == ["tick 1"]
    assert time.monotonic() - started < 5
    assert second["finished"] is False


def test_cli_follow_prints_lines_as_they_come_and_ends_with_the_task(server: Server) -> None:
    task_id = server.create("logs.slow", {"lines": 4, "gap": 1.0})
    env = {**os.environ, "TASKTRACK_URL": server.url, "TASKTRACK_API_KEY": server.key}
    env.pop("TASKTRACK_CONFIG", None)
    command = [sys.executable, "-m", "tasktrack", "tasks", "logs", task_id, "--follow"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        first_at = time.monotonic()
        rest = process.stdout.read()
        assert process.wait(30) == 0
        # The first line came as it was logged, not at the end: the handler ran on for 3 s
        # (three more 1 s gaps) after logging it.
        assert time.monotonic() - first_at > 2.0
    lines = [first, *rest.splitlines()]
    assert [line.split()[-1] for line in lines] == ["0", "1", "2", "3"]
    assert all(" #1 INFO " in line for line in lines)
    assert server.settled(task_id)["status"] == "done"
    # Without --follow: what is stored, at once.
    plain = subprocess.run(
        command[:-1], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    assert plain.stdout.splitlines() == [line.rstrip("\n") for line in lines]
