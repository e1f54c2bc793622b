"""Prometheus metrics from a real server and a real worker process."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_sync
from tests.integration.conftest import Server, StartServer
from tests.integration.worker_procs import WorkerProcess


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_tasks_by_status_and_requests_by_route(server: Server) -> None:
    with server.client(headers={"Accept": "application/json"}) as c:
        ids = [c.post("/v2.0/tasks", json={"name": "demo.sleep"}).json()["_id"] for _ in range(3)]
        c.post(f"/v2.0/tasks/{ids[0]}/cancel")
        for task_id in ids:
            c.get(f"/v2.0/tasks/{task_id}")
        c.get("/v2.0/tasks/" + "f" * 24)  # a 404
        text = httpx.get(f"{server.base_url}/metrics").text  # no credentials needed
    got = samples(text)
    assert got[("tasktrack_tasks", (("status", "queued"),))] == 2
    assert got[("tasktrack_tasks", (("status", "cancelled"),))] == 1
    reads = (("method", "GET"), ("route", "/v2.0/tasks/{id}"), ("status", "200"))
    assert got[("tasktrack_http_requests_total", reads)] == 3
    missing = (("method", "GET"), ("route", "/v2.0/tasks/{id}"), ("status", "404"))
    assert got[("tasktrack_http_requests_total", missing)] == 1
    # Ids are folded into the route template: no label holds one.
    assert not re.search(r'"[^"]*[0-9a-f]{24}', text)


def test_worker_serves_its_attempt_counters(server_factory: StartServer, tmp_path: Path) -> None:
    server = server_factory()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    worker = WorkerProcess(server.db_url, tmp_path / "w.log", "--metrics-port", str(port))
    try:
        with server.client(headers={"Accept": "application/json"}) as c:
            c.post("/v2.0/tasks", json={"name": "demo.fail", "data": {"message": "x"}})
            c.post("/v2.0/tasks", json={"name": "demo.sleep", "data": {"seconds": 0, "steps": 1}})

        def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            try:
                return samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
            except httpx.HTTPError:
                return {}

        got = wait_sync(
            scrape,
            lambda m: (
                m.get(
                    (
                        "tasktrack_worker_attempts_total",
                        (("name", "demo.sleep"), ("outcome", "done")),
                    )
                )
                == 1
                and m.get(
                    (
                        "tasktrack_worker_attempts_total",
                        (("name", "demo.fail"), ("outcome", "error")),
                    )
                )
                == 1
            ),
            timeout=60,
            what="worker counters",
        )
        assert got[("tasktrack_worker_running", ())] == 0
    finally:
        worker.stop()
