"""Fixtures that run the real ``tasktrack serve`` process over HTTP.

Each server gets its own SQLite file and a free port. Before the process starts, the database
is created through the package's storage API: the default organisation and user, an API key
and, optionally, tasks written by a ``seed`` callback (which is how the listing tests get 1,000
tasks in well under a second, and how tests get tasks in states no API call can produce).

Seeded tasks use names no worker runs, and the server is started with ``TASKTRACK_WORKER=0``
(the worker's off switch, once it exists), so seeded tasks keep the state they were given.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import Scope
from tasktrack.domain.task import Task
from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tests import pg
from tests.integration.plan_files import plans_backlog, plans_db

__all__ = ["plans_backlog", "plans_db"]  # fixtures shared by the query-plan modules

#: How long a server may take to answer /health after the process starts.
START_DEADLINE = 30.0
#: How long a server may take to exit after SIGTERM before it is killed.
STOP_DEADLINE = 10.0
#: A second organisation, for tasks the API key's caller must never see.
OTHER_ORG = "0f" * 12
OTHER_USER = "0e" * 12


@dataclass
class Seeder:
    """What a seed callback gets: the open stores and the ids the API key acts as."""

    stores: Stores
    org_id: str
    user_id: str
    #: A second organisation, whose tasks the API key's caller must never see.
    other_org: str = OTHER_ORG
    other_user: str = OTHER_USER

    def scope(self) -> Scope:
        """The API key's organisation, as the stores' scoped calls take it."""
        return Scope(self.org_id)

    @staticmethod
    def utc(seconds: float) -> datetime:
        """A UTC datetime for Unix ``seconds``."""
        return datetime.fromtimestamp(seconds, UTC)

    def task(
        self,
        name: str,
        *,
        data: dict[str, Any] | None = None,
        status: Status = Status.QUEUED,
        created_at: int = 1_700_000_000,
        last_changed: int | None = None,
        current_step: int = 0,
        total_step: int = 0,
        fail_reason: str = "",
        last_run_at: datetime | None = None,
        last_finished_at: datetime | None = None,
        project_id: str | None = None,
        org_id: str | None = None,
        user_id: str | None = None,
    ) -> Task:
        """A task record of the caller's organisation (unless ``org_id`` says otherwise)."""
        user = user_id or (self.other_user if org_id == self.other_org else self.user_id)
        return Task(
            id=new_id(created_at),
            name=name,
            data={} if data is None else data,
            status=status,
            org_id=org_id or self.org_id,
            created_by=user,
            created_at=created_at,
            current_step=current_step,
            total_step=total_step,
            fail_reason=fail_reason,
            last_run_at=last_run_at,
            last_finished_at=last_finished_at,
            last_changed=created_at if last_changed is None else last_changed,
            last_changed_by=user,
            project_id=project_id,
            run_after=float(created_at),
        )

    async def add(self, tasks: Iterable[Task]) -> list[Task]:
        """Insert ``tasks`` (concurrently, so the store's writer commits them in groups)."""
        return list(await asyncio.gather(*(self.stores.tasks.create(t) for t in tasks)))


Seed = Callable[[Seeder], Awaitable[Any]]


@dataclass
class Server:
    """A running ``tasktrack serve`` process and what a test needs to talk to it."""

    base_url: str
    api_key: str = field(repr=False)
    db_url: str
    db_path: Path = field(repr=False)
    org_id: str
    user_id: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)
    #: Whatever the seed callback returned.
    seeded: Any = field(default=None, repr=False)
    _files: list[IO[bytes]] = field(default_factory=list, repr=False)

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text("utf-8", errors="replace")

    def client(self, *, auth: bool = True, **kwargs: Any) -> httpx.Client:
        """An HTTP client for this server (with the API key unless ``auth`` is false)."""
        headers = {"X-API-Key": self.api_key} if auth else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0, **kwargs)

    @staticmethod
    def request(
        client: httpx.Client, method: str, url: str, accept: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request with exactly this ``Accept`` (None: no Accept header at all)."""
        request = client.build_request(method, url, **kwargs)
        if accept is None:
            request.headers.pop("accept", None)
        else:
            request.headers["accept"] = accept
        return client.send(request)

    def write(self, fn: Callable[[Stores], Awaitable[Any]]) -> Any:
        """Run ``fn`` on the server's database from this (test) process, while it serves."""

        async def go() -> Any:
            stores = await open_stores(self.db_url)
            try:
                return await fn(stores)
            finally:
                await stores.close()

        return asyncio.run(go())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _prepare(db_url: str, seed: Seed | None) -> tuple[str, str, str, Any]:
    """Create the database, an API key and the seed; returns (key, org id, user id, seeded)."""
    # Seeding need not be durable: nothing has seen it yet.
    fast = db_url + "?synchronous=OFF" if db_url.startswith("sqlite") else db_url
    stores = await open_stores(fast)
    try:
        identity = IdentityService(stores.identity)
        org, user = await identity.ensure_default()
        _, key = await identity.create_api_key(user.id, label="integration tests")
        seeded = None
        if seed is not None:
            seeded = await seed(Seeder(stores, org.id, user.id))
        return key, org.id, user.id, seeded
    finally:
        await stores.close()


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> bool:
    """Poll /health until it answers 200 (True) or the process exits (False); raise at the
    deadline."""
    deadline = time.monotonic() + START_DEADLINE
    delay = 0.02
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(f"{base_url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(delay)  # a poll interval, bounded by the deadline above
            delay = min(delay * 1.5, 0.25)
    raise RuntimeError(
        f"server at {base_url} did not answer /health within {START_DEADLINE}s; log:\n"
        + log_path.read_text("utf-8", errors="replace")
    )


def start_server(
    workdir: Path,
    seed: Seed | None = None,
    env: dict[str, str] | None = None,
    db_url: str | None = None,
) -> Server:
    """Prepare a database in ``workdir`` and start a server on it; returns once it is healthy.

    ``env`` adds to (or overrides) the server's environment, e.g. ``TASKTRACK_*`` settings.
    ``db_url`` picks the database (default: a SQLite file in ``workdir``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = (workdir / "tasks.db").resolve()
    db_url = db_url or f"sqlite:///{db_path}"
    key, org_id, user_id, seeded = asyncio.run(_prepare(db_url, seed))
    server_env = {**os.environ}
    server_env.pop("TASKTRACK_APP_MODULES", None)  # the machine's, not one ``env`` sets
    server_env.update(
        {
            "TASKTRACK_DATABASE_URL": db_url,
            "TASKTRACK_WORKER": "0",
            "PYTHONUNBUFFERED": "1",
            # Seeded tasks carry fixed past finish times: a server with a worker would prune
            # them. Tests of retention turn it back on through ``env``.
            "TASKTRACK_RETENTION_DONE": "0",
            "TASKTRACK_RETENTION_ERROR": "0",
            "TASKTRACK_RETENTION_CANCELLED": "0",
            **(env or {}),
        }
    )
    last_log = ""
    for attempt in range(3):
        port = _free_port()
        log_path = workdir / f"server-{attempt}.log"
        log_file = log_path.open("wb")
        command = [sys.executable, "-m", "tasktrack", "serve", "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env,
            cwd=workdir,
        )
        base_url = f"http://127.0.0.1:{port}"
        server = Server(
            base_url, key, db_url, db_path, org_id, user_id, process, log_path, seeded, [log_file]
        )
        try:
            healthy = _wait_healthy(process, base_url, log_path)
        except BaseException:
            stop_server(server)
            raise
        if healthy:
            return server
        stop_server(server)
        last_log = server.log()
        if "address already in use" not in last_log.lower():
            break  # not a port race: retrying will not help
    raise RuntimeError(f"server exited before it was healthy; log:\n{last_log}")


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL after :data:`STOP_DEADLINE`; always reaps the process."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_DEADLINE)
    for file in server._files:
        file.close()
    server._files.clear()


StartServer = Callable[..., Server]


def unhandled_errors(log: str) -> list[str]:
    """One line per unhandled error in a server log: where, and the exception it raised."""
    found: list[str] = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "unhandled error" in line:
            tail = next(
                (ln for ln in lines[i + 1 :] if ln and not ln.startswith((" ", "Traceback"))),
                "",
            )
            found.append(f"{line.strip()} -> {tail.strip()}")
    return found


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def check_server_log(request: pytest.FixtureRequest) -> Callable[[Server], None]:
    """``check_server_log(server)``: after the test, fail if the server logged an unhandled
    error during it (unless the test already failed, which then says why)."""
    watched: list[tuple[Server, int]] = []

    def watch(server: Server) -> None:
        watched.append((server, len(server.log())))

    def check() -> None:
        call = getattr(request.node, "report_call", None)
        if call is not None and call.failed:
            return
        for server, start in watched:
            errors = unhandled_errors(server.log()[start:])
            assert not errors, "the server logged unhandled errors:\n" + "\n".join(errors)

    request.addfinalizer(check)
    return watch


@contextlib.contextmanager
def _factory(base: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[StartServer]:
    started: list[Server] = []
    databases = contextlib.ExitStack()

    def start(seed: Seed | None = None, env: dict[str, str] | None = None) -> Server:
        db_url = None
        if backend == "postgres":
            template = request.getfixturevalue("pg_template")
            db_url = databases.enter_context(contextlib.contextmanager(pg.database_from)(template))
        server = start_server(base / f"server{len(started)}", seed, env, db_url)
        started.append(server)
        return server

    with databases:
        try:
            yield start
        finally:
            for server in started:
                stop_server(server)


#: Every API integration test runs against both SQL backends.
API_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=API_BACKENDS)
def api_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def module_server_factory(
    tmp_path_factory: pytest.TempPathFactory, api_backend: str, request: pytest.FixtureRequest
) -> Iterator[StartServer]:
    """Start servers that live until the end of the module: ``start(seed=..., env=...)``."""
    with _factory(tmp_path_factory.mktemp("servers"), api_backend, request) as start:
        yield start


@pytest.fixture
def server_factory(
    tmp_path: Path, api_backend: str, request: pytest.FixtureRequest
) -> Iterator[StartServer]:
    """Start servers that live until the end of the test: ``start(seed=..., env=...)``."""
    with _factory(tmp_path, api_backend, request) as start:
        yield start


@pytest.fixture
def server(server_factory: StartServer) -> Server:
    """A fresh server with an empty database (for tests that need isolation)."""
    return server_factory()


@pytest.fixture(scope="module")
def module_server(module_server_factory: StartServer) -> Server:
    """One unseeded server shared by a module's tests."""
    return module_server_factory()
