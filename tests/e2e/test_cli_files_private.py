"""The SQLite database holds the token-signing key: ``tasktrack`` creates it, its WAL/SHM and
the default ``data/`` directory owner-only, and tightens loose ones with a warning (issue 12,
point 3). Real CLI subprocesses, run with the common umask 022, on the default database URL."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import _free_port, _wait_healthy


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    return {**env, "TASKTRACK_WORKER": "0"}


def _umask_022() -> None:
    os.umask(0o022)


def tasktrack(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        preexec_fn=_umask_022,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Path]:
    """A ``tasktrack serve`` on the default database URL, in ``tmp_path``; yields the db."""
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tasktrack", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_umask_022,
        )
    try:
        assert _wait_healthy(process, f"http://127.0.0.1:{port}", log_path)
        yield tmp_path / "data" / "tasktrack.db"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_new_database_and_its_wal_and_shm_are_owner_only(serving: Path) -> None:
    # The server holds the database open in WAL mode: -wal and -shm exist while it runs.
    assert mode(serving.parent) == 0o700
    for path in (serving, Path(f"{serving}-wal"), Path(f"{serving}-shm")):
        assert mode(path) == 0o600, path


def test_loose_files_from_before_are_tightened_with_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "tasktrack.db"
    # A database as an older tasktrack left it; kept open so its -wal and -shm stay.
    con = sqlite3.connect(database)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE leftover (x)")
    companions = [Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in (database, *companions):
        path.chmod(0o644)
    data.chmod(0o755)
    try:
        result = tasktrack(tmp_path, "db", "upgrade")
        assert result.returncode == 0, result.stderr
        assert mode(data) == 0o700
        assert all(mode(path) == 0o600 for path in (database, *companions))
    finally:
        con.close()
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 4, result.stderr
