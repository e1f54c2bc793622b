"""The identity commands in a subprocess: what they print, how they fail, and that what they
create signs in against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.auth_server import start, stop

HEX24 = re.compile(r"[0-9a-f]{24}")
PASSWORD = "a long enough password"


def tasktrack(
    db_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASKTRACK_DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'cli.db').resolve()}"


def test_org_user_key_and_client_from_the_cli_sign_in(db_url: str, tmp_path: Path) -> None:
    org_id = ok(tasktrack(db_url, "org", "create", "acme"))[-1]
    assert HEX24.fullmatch(org_id)
    user_id = ok(
        tasktrack(
            db_url,
            "user",
            "create",
            "--org",
            "acme",
            "--email",
            "Ann@Acme.test",
            stdin=PASSWORD + "\n",
        )
    )[-1]
    assert HEX24.fullmatch(user_id)
    key = ok(tasktrack(db_url, "apikey", "create", "--user", "ann@acme.test"))[-1]
    read_only = ok(tasktrack(db_url, "apikey", "create", "--user", user_id, "--read-only"))
    assert "read-only" in read_only[0] and read_only[-1].startswith("tt_")
    client_lines = ok(tasktrack(db_url, "oauth-client", "create", "--org", org_id))
    fields = dict(line.split(": ", 1) for line in client_lines)
    client_id, client_secret = fields["client_id"], fields["client_secret"]
    assert HEX24.fullmatch(client_id) and len(client_secret) >= 40

    server = start(tmp_path, db_url=db_url)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            assert http.get("/v2.0/tasks", headers={"X-API-Key": key}).status_code == 200
            form = {"grant_type": "password", "username": "ann@acme.test", "password": PASSWORD}
            signed_in = http.post("/auth/oauth2/token", data=form, auth=(client_id, client_secret))
            assert signed_in.status_code == 200, signed_in.text
            as_client = http.post(
                "/auth/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, client_secret),
            )
            assert as_client.status_code == 200, as_client.text
            key_id = key.split("_")[1]
            assert ok(tasktrack(db_url, "apikey", "revoke", key_id)) == [
                f"revoked API key {key_id}"
            ]
            assert http.get("/v2.0/tasks", headers={"X-API-Key": key}).status_code == 401
            bearer = {"Authorization": f"Bearer {as_client.json()['access_token']}"}
            ok(tasktrack(db_url, "oauth-client", "revoke", client_id))
            assert http.get("/v2.0/tasks", headers=bearer).status_code == 401
            ok(tasktrack(db_url, "user", "disable", "ann@acme.test"))
            assert http.post("/auth/oauth2/token", data=form).status_code == 400
    finally:
        stop(server)


def test_set_password_lets_the_default_user_sign_in(db_url: str, tmp_path: Path) -> None:
    ok(tasktrack(db_url, "user", "set-password", "admin@localhost", stdin=PASSWORD + "\n"))
    server = start(tmp_path, db_url=db_url)
    try:
        form = {"grant_type": "password", "username": "admin@localhost", "password": PASSWORD}
        response = httpx.post(f"{server.base_url}/auth/oauth2/token", data=form, timeout=30)
        assert response.status_code == 200, response.text
    finally:
        stop(server)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "create", "--org", "nope", "--email", "a@b.test"], PASSWORD, "no organisation"),
        (["user", "create", "--org", "default", "--email", "a@b.test"], "", "no password"),
        (["user", "create", "--org", "default", "--email", "a@b.test"], "short", "at least"),
        (["user", "create", "--org", "default", "--email", "not-mail"], PASSWORD, "e-mail"),
        (["org", "create", "default"], None, "exists"),
        (["apikey", "create", "--user", "nobody@x.test"], None, "no user"),
        (["apikey", "revoke", "0" * 24], None, "no active API key"),
        (["oauth-client", "create", "--org", "nope"], None, "no organisation"),
        (["oauth-client", "revoke", "0" * 24], None, "no active OAuth client"),
        (["user", "disable", "nobody@x.test"], None, "no user"),
    ],
)
def test_failures_are_one_line_on_stderr(
    db_url: str, args: list[str], stdin: str | None, message: str
) -> None:
    done = tasktrack(db_url, *args, stdin=None if stdin is None else stdin + "\n")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["org", "create"],
        ["user", "create"],
        ["user", "set-password"],
        ["user", "disable"],
        ["apikey", "create"],
        ["apikey", "revoke"],
        ["oauth-client", "create"],
        ["oauth-client", "revoke"],
    ],
)
def test_every_identity_command_has_an_example(db_url: str, command: list[str]) -> None:
    help_text = "\n".join(ok(tasktrack(db_url, *command, "--help")))
    assert "Example:" in help_text and f"tasktrack {' '.join(command)}" in help_text
