"""Schema upgrades in place, from the first version on, for both SQL backends.

A database created at version 1 and holding data, then upgraded step by step, must end with
exactly the schema a fresh database gets, and with its data intact and readable.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tasktrack.domain.lifecycle import Status
from tasktrack.errors import SchemaTooNew
from tasktrack.storage.factory import open_stores
from tasktrack.storage.migrate import migrations
from tasktrack.storage.sqlite.connection import _statements
from tests import pg

TASK_V1 = (
    "INSERT INTO tasks (id, org_id, project_id, name, data, status, current_step, total_step, "
    "fail_reason, last_run_at, last_finished_at, created_at, last_changed, created_by, "
    "last_changed_by, attempts, max_attempts, run_after, lease_expires_at, worker_id, version) "
    "VALUES ('6553f10248c7df3f4618cca8', 'aaaaaaaaaaaaaaaaaaaaaaaa', NULL, 'legacy.job', "
    "'{\"k\": [1, 2]}', 'queued', 0, 3, '', -1, -1, 1700000000, 1700000000, "
    "'111111111111111111111111', '111111111111111111111111', 0, 1, 1700000000, NULL, NULL, 1)"
)


def test_versions_are_the_same_on_both_backends() -> None:
    assert [m.version for m in migrations("sqlite")] == [m.version for m in migrations("postgres")]


def _sqlite_schema(path: Path) -> list[tuple[str, str]]:
    con = sqlite3.connect(path)
    try:
        return sorted(
            (row[0], " ".join(row[1].split()))
            for row in con.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%'"
            )
        )
    finally:
        con.close()


async def test_sqlite_upgrades_in_place_from_version_one(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    con = sqlite3.connect(old, isolation_level=None)
    first = migrations("sqlite")[0]
    con.execute("CREATE TABLE tasktrack_schema (version INTEGER NOT NULL)")
    for statement in _statements(first.sql):
        con.execute(statement)
    con.execute("INSERT INTO tasktrack_schema (version) VALUES (1)")
    con.execute(TASK_V1)
    con.close()

    upgraded = await open_stores(f"sqlite:///{old}")
    task = await upgraded.tasks.get("6553f10248c7df3f4618cca8")
    await upgraded.close()
    fresh = await open_stores(f"sqlite:///{tmp_path}/fresh.db")
    await fresh.close()

    assert task is not None and task.status is Status.QUEUED and task.data == {"k": [1, 2]}
    assert _sqlite_schema(old) == _sqlite_schema(tmp_path / "fresh.db")


@pytest.fixture
def empty_pg() -> Iterator[str]:
    name = f"tasktrack_mig_{__import__('uuid').uuid4().hex[:10]}"
    with pg.admin() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg.url_for(name)
    finally:
        pg.drop(name)


PG_SCHEMA = """
SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2
"""
PG_INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
PG_FUNCTIONS = "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'tasktrack%' ORDER BY 1"


def _pg_schema(url: str) -> tuple[list[tuple[object, ...]], ...]:
    with psycopg.connect(url) as con:
        return tuple(con.execute(q).fetchall() for q in (PG_SCHEMA, PG_INDEXES, PG_FUNCTIONS))


@pytest.mark.postgres
async def test_postgres_upgrades_in_place_from_version_one(empty_pg: str, pg_url: str) -> None:
    with psycopg.connect(empty_pg, autocommit=True) as con:
        con.execute("CREATE TABLE tasktrack_schema (version integer NOT NULL)")
        con.execute(migrations("postgres")[0].sql.encode())
        con.execute("INSERT INTO tasktrack_schema (version) VALUES (1)")
        con.execute(TASK_V1)

    upgraded = await open_stores(empty_pg)
    task = await upgraded.tasks.get("6553f10248c7df3f4618cca8")
    await upgraded.close()

    assert task is not None and task.status is Status.QUEUED and task.data == {"k": [1, 2]}
    # pg_url is a fresh database migrated from nothing to the latest version.
    assert _pg_schema(empty_pg) == _pg_schema(pg_url)


def _open_files(path: Path) -> list[str]:
    """This process's open descriptors on ``path`` (its WAL and shared-memory files too)."""
    fds = Path("/proc/self/fd")
    targets = (os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink())
    return [t for t in targets if t.startswith(str(path))]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("upgrade", [True, False])
async def test_a_refused_sqlite_database_is_closed_again(tmp_path: Path, upgrade: bool) -> None:
    path = tmp_path / "newer.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE tasktrack_schema (version INTEGER NOT NULL)")
    con.execute("INSERT INTO tasktrack_schema (version) VALUES (999)")
    con.commit()
    con.close()

    with pytest.raises(SchemaTooNew) as refused:
        await open_stores(f"sqlite:///{path}", upgrade=upgrade)

    # While the error is still held (as a caller logging it would), the file is not.
    assert refused.value is not None
    assert _open_files(path) == []


async def test_the_tasks_table_reads_in_the_layout_the_stores_expect(backend_url: str) -> None:
    """``task_from_row`` reads ``SELECT *`` rows by position: the columns migrations add
    (from parallel branches, in migration order) must sit where ``TABLE_COLUMNS`` says."""
    from tasktrack.storage.rows import TABLE_COLUMNS

    if backend_url == "memory://":
        return  # no table
    stores = await open_stores(backend_url)
    await stores.close()
    if backend_url.startswith("sqlite"):
        with sqlite3.connect(backend_url.removeprefix("sqlite:///")) as con:
            columns = tuple(row[1] for row in con.execute("PRAGMA table_info(tasks)"))
    else:
        with psycopg.connect(backend_url) as con:
            columns = tuple(
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'tasks' ORDER BY ordinal_position"
                )
            )
    assert columns == TABLE_COLUMNS
