"""How long a claim takes beside a large backlog it must not serve (issue 14, point 3).

100,000 queued tasks of type ``bulk.job`` in queue ``bulk`` (three organisations), plus 10
tasks a worker *can* run, placed two ways:

* ``own queue``: type ``fast.job`` in queue ``fast``; the worker serves ``--queue fast``. The
  claim reads ``tasks_lane`` from the (fast, org) prefix: the backlog is never visited.
* ``same queue``: type ``rare.job`` in queue ``bulk``, due *last*; the worker runs only
  ``rare.job``. The claim walks the lane past the backlog's entries of other types (the
  weakness docs/design.md described for every typed worker before queues; it remains for
  a worker running only some types *of a queue*).

Each case claims its 10 tasks one at a time through ``SqlTaskStore.claim`` and reports the
median and worst wall time per claim. By hand, never in CI; the machine is shared, so
compare the two cases of one run rather than absolute figures.

    .venv/bin/python -m bench.claims.bench_claim_backlog            # SQLite and PostgreSQL
    BENCH_N=20000 .venv/bin/python -m bench.claims.bench_claim_backlog  # a smaller backlog
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.storage.factory import open_stores
from tasktrack.storage.rows import INSERT_TASK, TASK_COLUMNS, task_to_row

N = int(os.environ.get("BENCH_N", "100000"))
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
NOW = time.time()
ORGS = ("a" * 24, "b" * 24, "c" * 24)


def task(i: int, name: str, queue: str, due: float) -> Task:
    return Task(
        id=f"{0x66000000 + i // 1000:08x}{i:016x}",
        name=name,
        data={},
        status=Status.QUEUED,
        org_id=ORGS[i % 3],
        created_by="1" * 24,
        created_at=int(NOW),
        last_changed=int(NOW),
        run_after=due,
        queue=queue,
        priority=i % 3,
    )


def rows(case: str) -> list[tuple[object, ...]]:
    backlog = [task(i, "bulk.job", "bulk", NOW - 3600 + i / 100) for i in range(N)]
    name, queue = ("fast.job", "fast") if case == "own queue" else ("rare.job", "bulk")
    # Priority 0 and due last: in its lane, after every backlog entry of its organisation.
    few = [task(N + i, name, queue, NOW - 1).evolve(priority=0) for i in range(10)]
    return [task_to_row(t) for t in backlog + few]


async def timed_claims(url: str, case: str) -> list[float]:
    stores = await open_stores(url)
    names, queues = (["fast.job"], ["fast"]) if case == "own queue" else (["rare.job"], ["bulk"])
    took = []
    try:
        for _ in range(10):
            start = time.perf_counter()
            claimed = await stores.tasks.claim("bench", names, 1, 30.0, time.time(), queues)
            took.append(time.perf_counter() - start)
            assert len(claimed) == 1, claimed
    finally:
        await stores.close()
    return took


def load_sqlite(path: Path, data: list[tuple[object, ...]]) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    con.executemany(INSERT_TASK, data)
    con.execute("COMMIT")
    con.close()


def load_pg(url: str, data: list[tuple[object, ...]]) -> None:
    with psycopg.connect(url) as con, con.cursor() as cur:
        with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)


async def on_sqlite(case: str) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/claims.db"
        await (await open_stores(url)).close()
        load_sqlite(Path(tmp) / "claims.db", rows(case))
        return await timed_claims(url, case)


async def on_postgres(case: str) -> list[float]:
    db = f"tt_claims_{os.getpid()}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {db}")
    try:
        url = f"{PG}/{db}"
        await (await open_stores(url)).close()
        load_pg(url, rows(case))
        return await timed_claims(url, case)
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


async def main() -> None:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{N:,} queued tasks of other types; load average {load}")
    for db, run in (("sqlite", on_sqlite), ("postgres", on_postgres)):
        for case in ("own queue", "same queue"):
            took = [t * 1000 for t in await run(case)]
            print(
                f"{db:8} {case:10}: claim median {statistics.median(took):7.2f} ms, "
                f"worst {max(took):7.2f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())
