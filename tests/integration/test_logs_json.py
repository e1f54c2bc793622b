"""``TASKTRACK_LOG_FORMAT=json`` on a real server and a real worker: every line either writes
is one JSON object with time, level, logger and message; the access log line of a request
carries the same id as its problem+json body and its ``X-Request-Id``; a worker's lines
about an attempt carry the task id, attempt and worker id."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Server, start_server, stop_server
from tests.integration.worker_procs import REPO, WorkerProcess

APPS = "tests.apps.log_handlers"
JSON_ENV = {"TASKTRACK_LOG_FORMAT": "json", "TASKTRACK_ACCESS_LOG": "1"}


def parse_every_line(text: str) -> list[dict[str, Any]]:
    """Each line as JSON (a line that is not one fails the test, naming it)."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        datetime.fromisoformat(record["time"])  # an ISO 8601 time
        records.append(record)
    assert records, "nothing was logged"
    return records


def wait_status(server: Server, task_id: str, status: str, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    with server.client() as client:
        while time.monotonic() < end:
            if client.get(f"/v2.0/tasks/{task_id}").json()["status"] == status:
                return
            time.sleep(0.05)  # a poll interval, bounded by the deadline
    raise AssertionError(f"task {task_id} did not reach {status}")


def test_every_line_of_a_server_and_a_worker_run_is_json(tmp_path: Path) -> None:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**JSON_ENV, "TASKTRACK_APP_MODULES": APPS, "PYTHONPATH": path}
    server = start_server(tmp_path, env=env)
    worker = WorkerProcess(server.db_url, tmp_path / "worker.log", "--app", APPS, **JSON_ENV)
    try:
        with server.client() as client:
            missing = client.get("/v2.0/tasks/" + "0" * 24, headers={"X-Request-Id": "req-abc-123"})
            logged = client.post("/v2.0/tasks", json={"name": "logs.three", "data": {}}).json()
            failing = client.post("/v2.0/tasks", json={"name": "logs.fails", "data": {}}).json()
        wait_status(server, logged["_id"], "done")
        wait_status(server, failing["_id"], "error")
    finally:
        stop_server(server)
        assert worker.stop() == 0, worker.text()

    served = parse_every_line(server.log())
    assert missing.status_code == 404
    assert missing.json()["traceId"] == missing.headers["x-request-id"] == "req-abc-123"
    access = [r for r in served if r["logger"] == "tasktrack.access"]
    miss = next(r for r in access if r["path"] == "/v2.0/tasks/" + "0" * 24)
    assert (miss["request_id"], miss["status"], miss["method"]) == ("req-abc-123", 404, "GET")
    assert {"uvicorn.error", "tasktrack.serve"} <= {r["logger"] for r in served}

    worked = parse_every_line(worker.text())
    worker_id = next(r["worker_id"] for r in worked if r["logger"] == "tasktrack.worker")
    echoed = [r for r in worked if r.get("task_id") == logged["_id"]]
    assert [r["message"].split(": ", 1)[1] for r in echoed] == [
        "first line",
        "second line",
        "third line",
    ]
    assert {(r["attempt"], r["worker_id"]) for r in echoed} == {(1, worker_id)}
    assert [r["level"] for r in echoed] == ["INFO", "WARNING", "ERROR"]
    failed = [r for r in worked if r.get("task_id") == failing["_id"]]
    assert any("Traceback" in r["message"] or "exception" in r for r in failed), failed


def test_text_format_keeps_one_readable_line_with_the_ids(tmp_path: Path) -> None:
    server = start_server(
        tmp_path, env={"TASKTRACK_LOG_FORMAT": "text", "TASKTRACK_ACCESS_LOG": "1"}
    )
    try:
        with httpx.Client(base_url=server.base_url) as client:
            client.get("/health/live", headers={"X-Request-Id": "req-text-42"})
    finally:
        stop_server(server)
    line = next(ln for ln in server.log().splitlines() if "/health/live" in ln)
    assert " INFO tasktrack.access: " in line and line.endswith("[request_id=req-text-42]")
    assert not any(ln.startswith("{") for ln in server.log().splitlines())
