"""A real ``tasktrack serve`` process for the authentication tests, and tenants to call it as.

Identities are made through the package's own service API on the server's SQLite file before
the server starts (argon2 hashing included), so each test starts from known credentials.
The server's stdout and stderr go to one file: the secret-logging test reads all of it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from tasktrack.service.identity import IdentityService
from tasktrack.storage.factory import open_stores

START_DEADLINE = 30.0
STOP_DEADLINE = 10.0
PASSWORD = "correct horse battery staple"


@dataclass
class Tenant:
    """One organisation and every kind of credential for it."""

    name: str
    org_id: str
    user_id: str
    email: str
    password: str
    api_key: str
    read_only_key: str
    client_id: str
    client_secret: str
    read_only_client_id: str
    read_only_client_secret: str


@dataclass
class AuthServer:
    base_url: str
    db_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _files: list[IO[bytes]] = field(default_factory=list, repr=False)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0, **kwargs)

    def run(self, coro_fn: Any) -> Any:
        """Run ``coro_fn(identity_service)`` on the server's database from the test process."""

        async def go() -> Any:
            stores = await open_stores(self.db_url)
            try:
                return await coro_fn(IdentityService(stores.identity))
            finally:
                await stores.close()

        return asyncio.run(go())


async def make_tenant(identity: IdentityService, name: str) -> Tenant:
    org = await identity.create_organisation(name)
    email = f"{name}@{name}.test"
    user = await identity.create_user(org.id, email, PASSWORD)
    _, key = await identity.create_api_key(user.id, label="tests")
    _, ro_key = await identity.create_api_key(user.id, read_only=True, label="tests ro")
    client, secret = await identity.create_oauth_client(org.id, name="tests")
    ro_client, ro_secret = await identity.create_oauth_client(org.id, read_only=True)
    return Tenant(
        name,
        org.id,
        user.id,
        email,
        PASSWORD,
        key,
        ro_key,
        client.id,
        secret,
        ro_client.id,
        ro_secret,
    )


def prepare(db_url: str, names: Iterable[str]) -> dict[str, Tenant]:
    """Create the database and one tenant per name."""

    async def go() -> dict[str, Tenant]:
        stores = await open_stores(db_url)
        try:
            identity = IdentityService(stores.identity)
            await identity.ensure_default()
            return {name: await make_tenant(identity, name) for name in names}
        finally:
            await stores.close()

    return asyncio.run(go())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(process: subprocess.Popen[bytes], base_url: str) -> bool:
    """Poll /health until 200 (True) or the process exits (False), within the deadline."""
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
            time.sleep(delay)  # a poll interval, bounded by the deadline
            delay = min(delay * 1.5, 0.25)
    return False


def start(
    workdir: Path, env: Mapping[str, str] | None = None, db_url: str | None = None
) -> AuthServer:
    """Start a server (no in-process worker) on ``db_url`` or a new file in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{(workdir / 'auth.db').resolve()}"
    full_env = {
        **os.environ,
        "TASKTRACK_DATABASE_URL": db_url,
        "TASKTRACK_WORKER": "0",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    full_env.pop("TASKTRACK_APP_MODULES", None)
    for attempt in range(3):
        port = _free_port()
        log_path = workdir / f"server-{port}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tasktrack",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=workdir,
        )
        server = AuthServer(f"http://127.0.0.1:{port}", db_url, process, log_path, [log_file])
        if _healthy(process, server.base_url):
            return server
        stop(server)
        if attempt == 2 or "address already in use" not in server.log().lower():
            raise RuntimeError(f"server did not become healthy; log:\n{server.log()}")
    raise AssertionError("unreachable")


def stop(server: AuthServer) -> None:
    """SIGTERM, SIGKILL after the deadline; always reaps the process and closes the log."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=STOP_DEADLINE)
    for file in server._files:
        file.close()
    server._files.clear()


def password_login(
    client: httpx.Client, tenant: Tenant, *, with_client: bool = True
) -> dict[str, Any]:
    """Tokens for the tenant's user via the password grant."""
    form = {"grant_type": "password", "username": tenant.email, "password": tenant.password}
    if with_client:
        form |= {"client_id": tenant.client_id, "client_secret": tenant.client_secret}
    response = client.post("/auth/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def client_login(client: httpx.Client, client_id: str, secret: str) -> dict[str, Any]:
    """Tokens for an OAuth client via the client_credentials grant (HTTP Basic)."""
    response = client.post(
        "/auth/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
