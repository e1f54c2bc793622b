"""`tasktrack db` and the schema guard, as a user runs them: subprocesses on real databases."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cli.db"
    # An empty database: nothing migrated yet.
    from tests import pg

    name = f"tasktrack_cli_{os.getpid()}_{abs(hash(str(tmp_path))) % 10**8}"
    with pg.admin() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    request.addfinalizer(lambda: pg.drop(name))
    return pg.url_for(name)


def tasktrack(*args: str, db_url: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASKTRACK_DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "tasktrack", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_upgrade_is_idempotent_and_status_tells_the_truth(db_url: str) -> None:
    before = tasktrack("db", "status", db_url=db_url)
    assert before.returncode == 0, before.stderr
    assert "version 0" in before.stdout and "pending" in before.stdout
    first = tasktrack("db", "upgrade", db_url=db_url)
    assert first.returncode == 0 and "upgraded from version 0" in first.stdout
    again = tasktrack("db", "upgrade", db_url=db_url)
    assert again.returncode == 0 and "up to date" in again.stdout
    after = tasktrack("db", "status", db_url=db_url)
    assert "up to date" in after.stdout


def _bump_schema(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        con = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        with con:
            con.execute("INSERT INTO tasktrack_schema (version) VALUES (999)")
        con.close()
    else:
        with psycopg.connect(db_url, autocommit=True) as con:
            con.execute("INSERT INTO tasktrack_schema (version) VALUES (999)")


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker"], ["db", "upgrade"]])
def test_a_newer_schema_is_refused_with_one_clear_line(db_url: str, command: list[str]) -> None:
    assert tasktrack("db", "upgrade", db_url=db_url).returncode == 0
    _bump_schema(db_url)
    result = tasktrack(*command, db_url=db_url)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == (
        "error: the database schema is version 999, but this tasktrack knows only up to "
        f"{_latest()}: upgrade tasktrack before running it against this database"
    )
    assert "Traceback" not in result.stderr


def _latest() -> int:
    from tasktrack.storage.migrate import migrations

    return migrations("sqlite")[-1].version


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = tasktrack("worker", db_url="postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot connect to PostgreSQL")
    assert "Traceback" not in result.stderr
