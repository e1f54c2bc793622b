"""The public npm client (``@cognigy/rest-api-client``) signs in against a real server with its
OAuth2 password and client-credentials logins, then reads, lists and cancels tasks.

Needs Node.js and npm. The package is installed once into a cache directory
(``TASKTRACK_NPM_CLIENT_DIR`` overrides it); without Node or the registry the test skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.auth_server import AuthServer, Tenant, prepare, start, stop

PACKAGE = "@cognigy/rest-api-client"
VERSION = "0.19.0"

SCRIPT = r"""
const { RestAPIClient } = require("@cognigy/rest-api-client");
const [base, clientId, clientSecret, username, password, taskId] = process.argv.slice(2);
const out = (o) => console.log(JSON.stringify(o));
async function signedIn(login, secret) {
  const client = new RestAPIClient({ baseUrl: base, maxRetries: 0 });
  client.setCredentials({ type: "OAuth2", clientId, clientSecret: secret });
  await client.login(login);
  return client;
}
(async () => {
  const viaPassword = await signedIn({ type: "password", username, password }, clientSecret);
  const list = await viaPassword.indexTasks({ limit: 10 });
  const one = await viaPassword.readTask({ taskId });
  const loggedIn = await viaPassword.isLoggedIn();
  out({ grant: "password", total: list.total, read: one._id, loggedIn });
  const viaClient = await signedIn({ type: "clientCredentials" }, clientSecret);
  const cancelled = await viaClient.cancelTask({ taskId });
  out({ grant: "client_credentials", cancelled: cancelled.status });
  try {
    await viaClient.readTask({ taskId: "0123456789abcdef01234567" });
  } catch (e) {
    out({ missing: e.constructor.name });
  }
  try {
    await signedIn({ type: "clientCredentials" }, "wrong secret");
    out({ wrongSecret: "accepted" });
  } catch (e) {
    out({ wrongSecret: e.constructor.name });
  }
  await viaPassword.logout();
})().catch((e) => { console.error("FAILED", e && e.message, e && e.details); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed for the npm client test")
    default = Path.home() / ".cache" / "tasktrack-tests" / "npm-client"
    prefix = Path(os.environ.get("TASKTRACK_NPM_CLIENT_DIR", default))
    modules = prefix / "node_modules"
    if not (modules / PACKAGE / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"{PACKAGE}@{VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"could not install {PACKAGE}: {done.stderr.strip()[-300:]}")
    return modules


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[AuthServer, Tenant]]:
    db_url = f"sqlite:///{(tmp_path / 'auth.db').resolve()}"
    tenant = prepare(db_url, ["npm"])["npm"]
    server = start(tmp_path, {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}, db_url=db_url)
    try:
        yield server, tenant
    finally:
        stop(server)


def test_official_client_oauth2_logins_work(
    node_modules: Path, served: tuple[AuthServer, Tenant], tmp_path: Path
) -> None:
    server, tenant = served
    with server.client() as http:
        created = http.post(
            "/v2.0/tasks", json={"name": "demo.sleep"}, headers={"X-API-Key": tenant.api_key}
        )
        task_id = created.json()["_id"]
    script = tmp_path / "login.js"
    script.write_text(SCRIPT, "utf-8")
    args = [server.base_url, tenant.client_id, tenant.client_secret, tenant.email, tenant.password]
    done = subprocess.run(
        ["node", str(script), *args, task_id],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines == [
        {"grant": "password", "total": 1, "read": task_id, "loggedIn": True},
        {"grant": "client_credentials", "cancelled": "cancelled"},
        {"missing": "ResourceNotFoundError"},
        {"wrongSecret": "UnauthorizedError"},
    ]
