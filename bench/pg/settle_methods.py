"""What settling a batch of finishes costs the client and PostgreSQL, three ways (by hand).

    .venv/bin/python -m bench.pg.settle_methods [--batch 8] [--n 4000]

Seeds a fresh database, makes every task ``active`` (attempt 1), then finishes ``--n`` tasks
per method in batches of ``--batch``, and prints per task: the client's CPU (this process),
the wall time and PostgreSQL's CPU (every ``postgres`` process, so run it on a quiet machine):

* ``pipeline``: one statement per finish, pipelined in one transaction (group commit until
  stop 20);
* ``executemany``: the same statements through ``executemany`` in a pipeline;
* ``merged``: one statement over arrays (``storage/postgres/finish_many.py``, stop 21).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import psycopg

from bench.e2e.profile_worker import seed
from bench.pg.bench_e2e_pg import PG, admin
from bench.pg.bench_get_one_pg import pg_jiffies
from tasktrack.storage import lifecycle_sql as lsql
from tasktrack.storage.dialect import Row
from tasktrack.storage.postgres.connection import pg_sql
from tasktrack.storage.postgres.dialect import with_moved
from tasktrack.storage.postgres.finish_many import finish_many

Method = Callable[[psycopg.AsyncConnection, list[str]], Awaitable[list[Row | None]]]
NOW = 2.0


async def pipeline(con: psycopg.AsyncConnection, batch: list[str]) -> list[Row | None]:
    async with con.pipeline(), con.transaction():
        cursors = []
        for task_id in batch:
            sql, args = with_moved(lsql.finish(task_id, 1, NOW)[0])
            cursors.append(await con.execute(pg_sql(sql), args))
    return [await c.fetchone() for c in cursors]


async def executemany(con: psycopg.AsyncConnection, batch: list[str]) -> list[Row | None]:
    statements = [with_moved(lsql.finish(task_id, 1, NOW)[0]) for task_id in batch]
    async with con.pipeline(), con.transaction():
        cursor = con.cursor()
        await cursor.executemany(
            pg_sql(statements[0][0]), [a for _, a in statements], returning=True
        )
        rows = [await cursor.fetchone()]
        while cursor.nextset():
            rows.append(await cursor.fetchone())
    return rows


async def merged(con: psycopg.AsyncConnection, batch: list[str]) -> list[Row | None]:
    sql, args = finish_many([(task_id, 1, NOW, None) for task_id in batch])
    return list(await (await con.execute(pg_sql(sql), args)).fetchall())


METHODS: dict[str, Method] = {"pipeline": pipeline, "executemany": executemany, "merged": merged}


async def main(n: int, batch: int) -> None:
    db = f"tt_settle_{os.getpid()}"
    admin(f"CREATE DATABASE {db}")
    url = f"{PG}/{db}"
    try:
        await seed(url, n * len(METHODS))
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as con:
            await con.execute("UPDATE tasks SET status = 'active', attempts = 1, worker_id = 'w'")
            cursor = await con.execute("SELECT id FROM tasks ORDER BY id")
            ids = [str(r[0]) for r in await cursor.fetchall()]
            for i, (name, method) in enumerate(METHODS.items()):
                part = ids[i * n : (i + 1) * n]
                cpu, wall, pg = time.process_time(), time.perf_counter(), pg_jiffies()
                moved = 0
                for at in range(0, n, batch):
                    moved += sum(r is not None for r in await method(con, part[at : at + batch]))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                pg_s = (pg_jiffies() - pg) / os.sysconf("SC_CLK_TCK")
                assert moved == n, f"{name}: {moved} of {n} finished"
                print(
                    f"batch {batch:3d} {name:12s} client CPU {1e6 * cpu / n:5.0f} µs/task, "
                    f"wall {1e6 * wall / n:5.0f} µs/task, "
                    f"PostgreSQL CPU {1e6 * pg_s / n:5.0f} µs/task"
                )
    finally:
        admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    asyncio.run(main(args.n, args.batch))
