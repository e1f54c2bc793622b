"""Fixtures for the dashboard's browser tests: a real ``tasktrack serve`` with its worker on,
and Debian's headless Chromium driven by Playwright's sync API.

The database is prepared before the server starts: the default organisation and user, an API
key, a password for that user, and seeded tasks whose names no worker runs (so they keep the
states they are given). The demo task types (``demo.sleep``, ``demo.fail``) and those of
``tests/apps/dashboard.py`` (``dash.answer``) do run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.service.identity import IdentityService
from tests.integration.conftest import Seeder, _free_port, _prepare, _wait_healthy

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
#: Seeded: 24 "report.export" tasks (6 each done, error, cancelled, queued), one hostile name.
REPORTS = 24
FAIL_REASON = "disk full on /exports"
HOSTILE_NAME = '<img src=x onerror="window.__xss=1">mail.send'
HOSTILE_DATA = {"to": "ada@example.com", "body": "<script>window.__xss=2</script>", "n": [1, 2]}


@dataclass
class Dashboard:
    """A running server and what the tests need to reach it."""

    base_url: str
    api_key: str = field(repr=False)
    email: str
    password: str = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)

    def api(self) -> httpx.Client:
        """An API client with the key, asking for plain JSON."""
        headers = {"X-API-Key": self.api_key, "Accept": "application/json"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0)

    def create(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.api() as client:
            response = client.post("/v2.0/tasks", json={"name": name, "data": data})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


async def _seed(seeder: Seeder) -> None:
    # A second user of the same organisation, with a password (``tasktrack user create``).
    await IdentityService(seeder.stores.identity).create_user(seeder.org_id, EMAIL, PASSWORD)
    statuses = [Status.DONE, Status.ERROR, Status.CANCELLED, Status.QUEUED]
    tasks = []
    for i in range(REPORTS):
        status = statuses[i % 4]
        tasks.append(
            seeder.task(
                "report.export",
                data={"format": "pdf", "pages": i},
                status=status,
                created_at=1_700_000_000 + 600 * i,
                total_step=5,
                current_step=5 if status is Status.DONE else 2 if status is Status.ERROR else 0,
                fail_reason=FAIL_REASON if status is Status.ERROR else "",
            )
        )
    tasks.append(
        seeder.task(HOSTILE_NAME, data=HOSTILE_DATA, status=Status.DONE, created_at=1_700_100_000)
    )
    await seeder.add(tasks)


def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn`` in another thread: Playwright's sync API keeps an event loop running in
    this one, so ``asyncio.run`` (which the servers' set-up uses) cannot run here."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def start_dashboard(workdir: Path) -> Dashboard:
    """Prepare a database in ``workdir`` and serve it, worker on; returns once healthy."""
    db_url = f"sqlite:///{workdir / 'tasks.db'}"
    key, _, _, _ = off_loop(asyncio.run, _prepare(db_url, _seed))
    env = {
        **os.environ,
        "TASKTRACK_DATABASE_URL": db_url,
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_CONCURRENCY": "4",
        "TASKTRACK_POLL_INTERVAL": "0.1",
        # Seeded tasks finished long ago (fixed past times): the pruner must not take them.
        "TASKTRACK_RETENTION_DONE": "0",
        "TASKTRACK_RETENTION_ERROR": "0",
        "TASKTRACK_RETENTION_CANCELLED": "0",
        # Tests leave long demo tasks running: at the end the server gives them back after
        # 1 s instead of waiting out the default 30 s (and this fixture's 15 s kill).
        "TASKTRACK_SHUTDOWN_TIMEOUT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    # The dashboard's own task types (tests/apps/dashboard.py), importable from the repository.
    env["TASKTRACK_APP_MODULES"] = "tests.apps.dashboard"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    port = _free_port()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tasktrack", "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base_url = f"http://127.0.0.1:{port}"
    dashboard = Dashboard(base_url, key, EMAIL, PASSWORD, process, log_path)
    try:
        healthy = _wait_healthy(process, base_url, log_path)
    except BaseException:
        stop_dashboard(dashboard)
        raise
    if not healthy:
        stop_dashboard(dashboard)
        raise RuntimeError("server exited before it was healthy:\n" + log_path.read_text())
    return dashboard


def stop_dashboard(dashboard: Dashboard) -> None:
    process = dashboard.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    running = start_dashboard(tmp_path_factory.mktemp("dashboard"))
    try:
        yield running
    finally:
        stop_dashboard(running)


def require_chromium() -> None:
    """Skip without Chromium locally; on CI (``CI`` set) its absence is a failure."""
    if shutil.which("chromium") and Path(CHROMIUM).exists():
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
