"""Health endpoints of a real server and worker over HTTP: the database taken away (a SQLite
file moved or replaced by garbage, PostgreSQL cut off behind a TCP proxy) turns
``/health/ready`` into a 503 problem, and giving it back turns it into a 200 again.
``/health`` and ``/health/live`` stay up and unchanged throughout."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tasktrack.storage.migrate import latest_version
from tests import pg
from tests.integration.conftest import Server, _free_port, start_server, stop_server
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.worker_procs import WorkerProcess

#: How long a state change may take to show in /health/ready (a PostgreSQL pool reconnects
#: with a back-off of its own).
DEADLINE = 60.0


def ready_until(url: str, status: int, deadline: float = DEADLINE) -> httpx.Response:
    """Poll ``url`` until it answers ``status``; the last answer (fails at the deadline)."""
    end = time.monotonic() + deadline
    response = None
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < end:
            try:
                response = client.get(url)
            except httpx.TransportError:  # not listening yet
                response = None
            if response is not None and response.status_code == status:
                return response
            time.sleep(0.1)  # a poll interval, bounded by the deadline
    raise AssertionError(f"{url} did not answer {status}: {response and response.text}")


def assert_not_ready(response: httpx.Response, failed: str) -> None:
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["status"], body["code"], body["instance"]) == (503, 503, "/health/ready")
    assert body["traceId"] == response.headers["x-request-id"]
    assert body["details"]["checks"][failed]["ok"] is False
    assert failed in body["detail"]


def assert_alive(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        old = client.get("/health")
        live = client.get("/health/live")
    # Old clients and probes see exactly what they always did.
    assert (old.status_code, old.content) == (200, b'{"status":"ok"}')
    assert old.headers["content-type"] == "application/json"
    assert (live.status_code, live.json()) == (200, {"status": "ok"})


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path, env={"TASKTRACK_WORKER": "1"})
    try:
        yield server
    finally:
        stop_server(server)


def test_sqlite_file_moved_or_corrupted_is_not_ready_until_it_is_back(
    sqlite_server: Server,
) -> None:
    ready = f"{sqlite_server.base_url}/health/ready"
    body = ready_until(ready, 200).json()
    assert body["status"] == "ready"
    current = latest_version("sqlite")  # what a fresh database is migrated to
    assert body["checks"]["database"] == {"ok": True, "detail": f"schema version {current}"}
    assert body["checks"]["claim loop"]["ok"] is True  # the in-process worker's

    path = sqlite_server.db_path
    aside = path.with_suffix(".aside")
    os.rename(path, aside)
    assert_not_ready(ready_until(ready, 503), "database")
    assert_alive(sqlite_server.base_url)

    path.write_bytes(b"this is not a database file at all" * 200)  # corrupt at the path
    assert_not_ready(ready_until(ready, 503), "database")

    os.replace(aside, path)
    assert ready_until(ready, 200).json()["checks"]["database"]["ok"] is True
    assert "cannot be read" in sqlite_server.log()  # the reason is logged, not shown


def test_a_schema_newer_than_the_server_is_not_ready(sqlite_server: Server) -> None:
    ready = f"{sqlite_server.base_url}/health/ready"
    with contextlib.closing(sqlite3.connect(sqlite_server.db_path)) as con, con:
        con.execute("INSERT INTO tasktrack_schema (version) VALUES (99)")
    response = ready_until(ready, 503)
    assert_not_ready(response, "database")
    assert response.json()["details"]["checks"]["database"]["detail"] == (
        f"schema version 99, expected {latest_version('sqlite')}"
    )
    with contextlib.closing(sqlite3.connect(sqlite_server.db_path)) as con, con:
        con.execute("DELETE FROM tasktrack_schema WHERE version = 99")
    ready_until(ready, 200)


@contextlib.contextmanager
def postgres_behind_proxy(template: str) -> Iterator[tuple[str, TcpProxy]]:
    """A fresh database, and its URL through a proxy the test can cut."""
    with contextlib.contextmanager(pg.database_from)(template) as direct:
        parts = urlsplit(direct)
        proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
        proxy.restore()
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"
        try:
            yield urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), proxy
        finally:
            proxy.cut()


@pytest.mark.postgres
def test_postgres_cut_off_is_not_ready_until_it_is_reachable_again(
    tmp_path: Path, pg_template: str
) -> None:
    with postgres_behind_proxy(pg_template) as (url, proxy):
        server = start_server(tmp_path, db_url=url)
        try:
            ready = f"{server.base_url}/health/ready"
            assert ready_until(ready, 200).json()["checks"]["database"]["ok"] is True
            proxy.cut()
            assert_not_ready(ready_until(ready, 503), "database")
            assert_alive(server.base_url)
            proxy.restore()
            ready_until(ready, 200)
        finally:
            stop_server(server)


def test_worker_health_port_reports_database_and_claim_loop(tmp_path: Path) -> None:
    server = start_server(tmp_path)  # creates the database file; no worker of its own
    stop_server(server)
    port = _free_port()
    worker = WorkerProcess(server.db_url, tmp_path / "worker.log", "--health-port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        body: Any = ready_until(f"{base}/health/ready", 200).json()
        assert set(body["checks"]) == {"database", "claim loop"}
        assert all(check["ok"] for check in body["checks"].values())
        aside = server.db_path.with_suffix(".aside")
        os.rename(server.db_path, aside)
        assert_not_ready(ready_until(f"{base}/health/ready", 503), "database")
        assert_alive(base)
        os.replace(aside, server.db_path)
        ready_until(f"{base}/health/ready", 200)
    finally:
        assert worker.stop() == 0, worker.text()


def test_worker_refuses_a_health_port_in_use_with_one_line(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    stop_server(server)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        worker = WorkerProcess(server.db_url, tmp_path / "worker.log", "--health-port", str(port))
        code = worker.proc.wait(30)
        worker.stop()
    lines = worker.text().strip().splitlines()
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: cannot serve health on 127.0.0.1:{port}")
