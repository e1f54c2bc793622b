"""The access-token signing key over real HTTP (issue 12, point 3): tokens longer-lived than
the configured lifetime are refused even when signed with the real key; ``tasktrack secret
rotate`` signs nobody out; the key can come from ``TASKTRACK_SECRET_KEY`` instead of the
database, with earlier keys in ``TASKTRACK_SECRET_KEY_PREVIOUS``."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest

from tasktrack.service.signing_keys import PREVIOUS_KEYS_NAME
from tasktrack.service.tokens import SIGNING_KEY_NAME
from tests.integration.auth_server import AuthServer, Tenant, password_login, prepare, start, stop

TASKS = "/new/v2.0/tasks"
NO_LIMIT = {"TASKTRACK_AUTH_FAILURES_PER_MINUTE": "0"}
KEY_1 = "first-environment-key-" + "a" * 32
KEY_2 = "second-environment-key-" + "b" * 32
DAY = 86400


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def db_file(db_url: str) -> Path:
    return Path(db_url.removeprefix("sqlite:///"))


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def reminted(token: str, key: str, lifetime: int) -> str:
    """``token``'s claims, issued now for ``lifetime`` seconds and signed with ``key``."""
    now = int(time.time())
    claims = {**claims_of(token), "iat": now, "exp": now + lifetime, "jti": "f" * 24}
    return jwt.encode(claims, key, algorithm="HS256")


def status(server: AuthServer, token: str) -> int:
    with server.client() as client:
        return client.get(TASKS, headers=bearer(token)).status_code


def login(server: AuthServer, tenant: Tenant) -> str:
    with server.client() as client:
        return str(password_login(client, tenant)["access_token"])


def tasktrack(db_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", *args],
        env={**clean, "TASKTRACK_DATABASE_URL": db_url, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def serving(workdir: Path, db_url: str, env: dict[str, str] | None = None) -> Iterator[AuthServer]:
    server = start(workdir, {**NO_LIMIT, **(env or {})}, db_url=db_url)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, Tenant]:
    db_url = f"sqlite:///{(tmp_path / 'keys.db').resolve()}"
    return db_url, prepare(db_url, ["acme"])["acme"]


def sqlite_one(self: sqlite3.Cursor) -> Any:
    row = self.fetchone()
    assert row is not None
    return row[0]


def test_a_token_signed_with_the_real_key_but_living_115_days_is_refused(
    database: tuple[str, Tenant], tmp_path: Path
) -> None:
    db_url, tenant = database
    with serving(tmp_path, db_url) as server:
        real = login(server, tenant)
        key = _current_key(db_url)
        assert status(server, reminted(real, key, 600)) == 200  # the key is the right one
        assert status(server, reminted(real, key, 115 * DAY)) == 401


def test_rotation_keeps_earlier_tokens_valid_and_signs_new_ones_with_the_new_key(
    database: tuple[str, Tenant], tmp_path: Path
) -> None:
    db_url, tenant = database
    with serving(tmp_path, db_url) as server:
        before = login(server, tenant)
        old_key = _current_key(db_url)
        result = tasktrack(db_url, "secret", "rotate")
        assert result.returncode == 0, result.stderr
        new_key = _current_key(db_url)
        assert new_key != old_key
        assert status(server, before) == 200
    with serving(tmp_path, db_url) as restarted:
        assert status(restarted, before) == 200
        after = login(restarted, tenant)
        jwt.decode(after, new_key, algorithms=["HS256"], options={"verify_aud": False})
    _retire_previous_keys(db_url)
    with serving(tmp_path, db_url) as later:
        assert status(later, before) == 401
        assert status(later, after) == 200


def test_the_key_can_come_from_the_environment_and_be_rotated_there(
    database: tuple[str, Tenant], tmp_path: Path
) -> None:
    db_url, tenant = database
    with serving(tmp_path, db_url) as server:
        pass  # an earlier start without the variable made a key in the database
    with serving(tmp_path, db_url, {"TASKTRACK_SECRET_KEY": KEY_1}) as server:
        token = login(server, tenant)
        jwt.decode(token, KEY_1, algorithms=["HS256"])
        # The database's own key signs nothing valid now.
        assert status(server, reminted(token, _current_key(db_url), 600)) == 401
    rotated = {"TASKTRACK_SECRET_KEY": KEY_2, "TASKTRACK_SECRET_KEY_PREVIOUS": KEY_1}
    with serving(tmp_path, db_url, rotated) as server:
        assert status(server, token) == 200
        jwt.decode(login(server, tenant), KEY_2, algorithms=["HS256"])
    key_file = tmp_path / "signing.key"
    key_file.write_text(KEY_2 + "\n")
    with serving(tmp_path, db_url, {"TASKTRACK_SECRET_KEY_FILE": str(key_file)}) as server:
        assert status(server, token) == 401  # KEY_1 is no longer listed
    refused = tasktrack(db_url, "secret", "rotate", TASKTRACK_SECRET_KEY=KEY_1)
    assert refused.returncode == 2
    assert "TASKTRACK_SECRET_KEY_PREVIOUS" in refused.stderr


def _current_key(db_url: str) -> str:
    with closing(sqlite3.connect(db_file(db_url))) as con:
        return str(sqlite_one(con.execute(_SELECT, (SIGNING_KEY_NAME,))))


def _retire_previous_keys(db_url: str) -> None:
    with closing(sqlite3.connect(db_file(db_url))) as con:
        entries = json.loads(sqlite_one(con.execute(_SELECT, (PREVIOUS_KEYS_NAME,))))
        retired = [{**entry, "retire_after": time.time() - 1} for entry in entries]
        with con:
            con.execute(
                "UPDATE server_secrets SET value = ? WHERE name = ?",
                (json.dumps(retired), PREVIOUS_KEYS_NAME),
            )


_SELECT = "SELECT value FROM server_secrets WHERE name = ?"
