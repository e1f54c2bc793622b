"""What a list page costs at 1,000,000 tasks, first page and deep by cursor (issue 15 point 5).

Run by hand, never in CI (see bench/README.md, "Issue 15: list cost at 1,000,000 tasks"):

    .venv/bin/python -m bench.list_scale --db sqlite      # seeds /tmp/tt-list-scale/tasks.db
    .venv/bin/python -m bench.list_scale --db postgres    # seeds database tt_list_scale

Seeding writes the rows straight into a database the store created (so the schema, indexes
and counter triggers are the migrations'): SQLite ``executemany`` in one transaction,
PostgreSQL ``COPY``. A second run reuses the seeded database (``--reseed`` to start again).
The tasks: one organisation holds ``--rows`` (another holds 1,000), ten names of 100,000
each, 70 % done, 10 % error, 5 % cancelled, 10 % queued, 5 % active, ten per second.

Each case is timed through the store's ``list_page`` (the SQL, the rows decoded to tasks and
the total, as the API's list route calls it), ``limit=100``, newest first; cases run in
turn for ``--rounds`` rounds and each figure is the median. A deep page is reached by a
``next`` cursor built from the row at that depth. ``count(*)`` is the statement every page
ran before the counters, timed alone for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tasktrack.domain.identity import Organisation
from tasktrack.domain.listing import Cursor, ListQuery, Scope, parse_field_filter, parse_sort
from tasktrack.service.identity import IdentityService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores

ORG = "a" * 24
OTHER = "b" * 24
USER = "c" * 24
BASE = 1_700_000_000
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SQLITE_PATH = Path("/tmp/tt-list-scale/tasks.db")
PG_DB = "tt_list_scale"
#: 20 slots: 14 done, 2 error, 1 cancelled, 2 queued, 1 active.
STATUSES = ["done"] * 14 + ["error"] * 2 + ["cancelled", "queued", "queued", "active"]
#: The columns seeded; the rest take their defaults (whatever columns later schemas add).
COLUMNS = (
    "id", "org_id", "project_id", "name", "data", "status", "current_step", "total_step",
    "fail_reason", "last_run_at", "last_finished_at", "created_at", "last_changed",
    "created_by", "last_changed_by", "attempts", "max_attempts", "run_after",
    "lease_expires_at", "worker_id", "version",
)  # fmt: skip
INSERT = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
CASES = {
    "unfiltered": (),
    "status=done": (("status", "done"),),
    "name=task.type3": (("name", "task.type3"),),
    "status=queued,active": (("status", "queued,active"),),
}


def rows(count: int, org: str, offset: int = 0) -> Iterator[tuple[Any, ...]]:
    for i in range(offset, offset + count):
        status = STATUSES[i % 20]
        ran, ended = status != "queued", status in ("done", "error", "cancelled")
        created = BASE + i // 10
        row = {
            "id": f"{created:08x}{i:016x}",
            "org_id": org,
            "project_id": None if i % 5 else "d" * 24,
            "name": f"task.type{i % 10}",
            "data": '{"n": 1}',
            "status": status,
            "current_step": 0,
            "total_step": 0,
            "fail_reason": "boom" if status == "error" else "",
            "last_run_at": created + 0.5 if ran else -1.0,
            "last_finished_at": created + 0.75 if ended else -1.0,
            "created_at": created,
            "last_changed": created + 1,
            "created_by": USER,
            "last_changed_by": USER,
            "attempts": 1 if ran else 0,
            "max_attempts": 1,
            "run_after": float(created),
            "lease_expires_at": created + 3600.0 if status == "active" else None,
            "worker_id": "w1" if status == "active" else None,
            "version": 1,
        }
        yield tuple(row[c] for c in COLUMNS)


def seeded_sqlite(n: int) -> sqlite3.Connection:
    con = sqlite3.connect(SQLITE_PATH, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")  # seeding only; the store opens it FULL
    con.execute("BEGIN")
    con.executemany(INSERT, rows(n, ORG))
    con.executemany(INSERT, rows(1000, OTHER, offset=n))
    con.execute("COMMIT")
    return con


async def seed_postgres(n: int) -> None:
    columns = ", ".join(COLUMNS)
    async with await psycopg.AsyncConnection.connect(f"{PG}/{PG_DB}") as con:
        async with con.cursor() as cur:
            async with cur.copy(f"COPY tasks ({columns}) FROM STDIN") as copy:
                for row in rows(n, ORG):
                    await copy.write_row(row)
                for row in rows(1000, OTHER, offset=n):
                    await copy.write_row(row)
        await con.commit()
    async with await psycopg.AsyncConnection.connect(f"{PG}/{PG_DB}", autocommit=True) as con:
        await con.execute("VACUUM (ANALYZE) tasks")  # what autovacuum does after a bulk load


async def prepare(db: str, n: int, reseed: bool) -> str:
    """The URL of a seeded database, seeding it if needed."""
    if db == "sqlite":
        url = f"sqlite:///{SQLITE_PATH}"
        if reseed or not SQLITE_PATH.exists():
            SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
            await (await open_stores(url)).close()
            started = time.perf_counter()
            seeded_sqlite(n).close()
            print(f"seeded {n:,} rows in {time.perf_counter() - started:.0f} s")
        return url
    url = f"{PG}/{PG_DB}"
    async with await psycopg.AsyncConnection.connect(f"{PG}/postgres", autocommit=True) as con:
        exists = await (
            await con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,))
        ).fetchone()
        if reseed or not exists:
            await con.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            await con.execute(f"CREATE DATABASE {PG_DB}")
            exists = None
    if not exists:
        await (await open_stores(url)).close()
        started = time.perf_counter()
        await seed_postgres(n)
        stores = await open_stores(url)
        folded = await stores.tasks.compact_counts()
        await stores.close()
        print(f"seeded {n:,} rows in {time.perf_counter() - started:.0f} s ({folded:,} deltas)")
    return url


def query(case: str, cursor: Cursor | None = None) -> ListQuery:
    filters = tuple(parse_field_filter(f, v) for f, v in CASES[case])
    return ListQuery(Scope(ORG), filters, None, parse_sort(None), limit=100, cursor=cursor)


async def cursor_at(stores: Stores, case: str, depth: int) -> Cursor:
    """A ``next`` cursor whose page starts ``depth`` rows into the list of ``case``."""
    walk = query(case)
    sort = walk.sort
    # A cursor is the sort values of the row before the page: walk there with skip, once.
    page = await stores.tasks.list_page(
        ListQuery(walk.scope, walk.filters, None, sort, limit=1, skip=depth - 1)
    )
    last = page.items[-1]
    return Cursor("next", sort, (last.created_at, last.id))


async def time_one(stores: Stores, q: ListQuery) -> float:
    started = time.perf_counter()
    page = await stores.tasks.list_page(q)
    elapsed = time.perf_counter() - started
    assert len(page.items) == 100 and page.total > 0
    return elapsed * 1000


async def time_count(url: str, db: str, case: str) -> float:
    """The count(*) every page ran before the counters, alone."""
    where = " AND ".join(
        ["org_id = ?"] + [f"{f} IN ({', '.join('?' * len(v.split(',')))})" for f, v in CASES[case]]
    )
    args = [ORG] + [x for _, v in CASES[case] for x in v.split(",")]
    sql = f"SELECT count(*) FROM tasks WHERE {where}"
    started = time.perf_counter()
    if db == "sqlite":
        con = sqlite3.connect(SQLITE_PATH)
        con.execute(sql, args).fetchone()
        con.close()
    else:
        async with await psycopg.AsyncConnection.connect(url) as con:
            started = time.perf_counter()
            await (await con.execute(sql.replace("?", "%s"), args)).fetchone()
    return (time.perf_counter() - started) * 1000


async def measure(url: str, db: str, n: int, rounds: int) -> dict[str, list[float]]:
    stores = await open_stores(url)
    try:
        plans: dict[str, ListQuery] = {}
        for case in CASES:
            total = (await stores.tasks.list_page(query(case))).total
            plans[f"{case} first"] = query(case)
            for label, frac in (("half", 0.5), ("end", 1.0)):
                depth = max(1, int(total * frac) - 200)
                plans[f"{case} {label} ({depth:,})"] = query(
                    case, await cursor_at(stores, case, depth)
                )
        PLANS.update(plans)
        times: dict[str, list[float]] = {label: [] for label in plans}
        counts: dict[str, list[float]] = {f"{case} count(*)": [] for case in CASES}
        for _ in range(rounds):
            for label, q in plans.items():
                times[label].append(await time_one(stores, q))
            for case in CASES:
                counts[f"{case} count(*)"].append(await time_count(url, db, case))
        return times | counts
    finally:
        await stores.close()


async def api_key(url: str) -> str:
    """A key of a user of the seeded organisation (created on first use)."""
    stores = await open_stores(url)
    try:
        identity = IdentityService(stores.identity)
        if await stores.identity.get_organisation(ORG) is None:
            await stores.identity.create_organisation(Organisation(ORG, "list-scale", BASE))
        user = await stores.identity.find_user("bench@list-scale.invalid")
        if user is None:
            user = await identity.create_user(ORG, "bench@list-scale.invalid")
        return (await identity.create_api_key(user.id, read_only=True))[1]
    finally:
        await stores.close()


def measure_http(url: str, rounds: int, cursors: dict[str, str]) -> dict[str, list[float]]:
    """The same first and deep pages through ``tasktrack serve --no-worker`` over HTTP."""
    key = asyncio.run(api_key(url))
    port = 18799
    env = dict(os.environ, TASKTRACK_DATABASE_URL=url, TASKTRACK_LOG_FORMAT="text")
    server = subprocess.Popen(
        [sys.executable, "-m", "tasktrack", "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v2.0/tasks"
    try:
        with httpx.Client(headers={"X-API-Key": key, "Accept": "application/json"}) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    client.get(f"http://127.0.0.1:{port}/health/live")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            times: dict[str, list[float]] = {label: [] for label in cursors}
            for _ in range(rounds):
                for label, params in cursors.items():
                    started = time.perf_counter()
                    reply = client.get(f"{base}?limit=100&{params}")
                    times[label].append((time.perf_counter() - started) * 1000)
                    assert reply.status_code == 200 and len(reply.json()["items"]) == 100
            return times
    finally:
        server.terminate()
        server.wait(30)


def http_params(plans: dict[str, ListQuery]) -> dict[str, str]:
    """The query string of each planned page, for the HTTP API."""
    out = {}
    for label, q in plans.items():
        parts = [f"{f.field}={','.join(str(v) for v in f.values)}" for f in q.filters]
        if q.cursor is not None:
            parts.append(f"next={q.cursor.encode()}")
        out[label] = "&".join(parts)
    return out


PLANS: dict[str, ListQuery] = {}


def report(db: str, times: dict[str, list[float]]) -> None:
    print(f"\n{db}: median ms (min-max) over {len(next(iter(times.values())))} rounds")
    firsts = {
        label.split(" ")[0]: statistics.median(t) for label, t in times.items() if "first" in label
    }
    for label, t in times.items():
        med = statistics.median(t)
        case = label.split(" ")[0]
        ratio = "" if "count" in label else f"  {med / firsts[case]:.2f}x first"
        print(f"  {label:45s} {med:8.2f}  ({min(t):.2f}-{max(t):.2f}){ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--http", action="store_true", help="also time the pages over HTTP")
    args = parser.parse_args()
    url = asyncio.run(prepare(args.db, args.rows, args.reseed))
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    times = asyncio.run(measure(url, args.db, args.rows, args.rounds))
    print(f"load average after: {os.getloadavg()}")
    report(args.db, times)
    if args.http:
        http = measure_http(url, args.rounds, http_params(PLANS))
        report(f"{args.db} over HTTP (serve --no-worker, JSON)", http)


if __name__ == "__main__":
    main()
