"""How many statements a PostgreSQL worker sends per task drained (by hand, not CI).

    BENCH_ASYNC=1 .venv/bin/python -m bench.pg.statements_per_task [--n 3000] [--children]

Seeds ``--n`` no-op tasks in a fresh database, drains them with an embedded worker
(concurrency 2; in-process async handlers unless ``--children``) while counting every
statement psycopg executes, and prints the statements per task, most frequent first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from collections import Counter
from typing import Any

import psycopg

from bench.e2e.profile_worker import seed
from bench.e2e.tasks import registry
from bench.pg.bench_e2e_pg import PG, admin
from tasktrack.domain.lifecycle import Status
from tasktrack.service.tasks import TaskService
from tasktrack.storage.factory import open_stores
from tasktrack.worker.embedded import embedded_worker
from tasktrack.worker.worker import WorkerOptions

COUNTS: Counter[str] = Counter()
_execute = psycopg.AsyncCursor.execute


async def _counted(self: psycopg.AsyncCursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
    text = query.decode() if isinstance(query, bytes) else str(query)
    COUNTS[re.sub(r"\s+", " ", text)[:90]] += 1
    return await _execute(self, query, *args, **kw)


async def main(n: int, in_process: bool) -> None:
    db = f"tt_statements_{os.getpid()}"
    admin(f"CREATE DATABASE {db}")
    url = f"{PG}/{db}"
    try:
        await seed(url, n)
        psycopg.AsyncCursor.execute = _counted  # type: ignore[method-assign]
        stores = await open_stores(url)
        options = WorkerOptions(
            concurrency=2, app_modules=("bench.e2e.tasks",), demo=False, in_process=in_process
        )
        started = time.perf_counter()
        async with embedded_worker(
            stores.tasks, TaskService(stores.tasks, registry), registry, options
        ):
            while (await stores.tasks.count_by_status())[Status.DONE] < n:
                await asyncio.sleep(0.05)
        took = time.perf_counter() - started
        await stores.close()
    finally:
        psycopg.AsyncCursor.execute = _execute  # type: ignore[method-assign]
        admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    polls = sum(v for k, v in COUNTS.items() if k.startswith("SELECT status, sum(n)"))
    total = sum(COUNTS.values()) - polls  # the benchmark's own "done yet?" reads left out
    print(f"{n} tasks in {took:.1f}s; {total / n:.2f} statements per task")
    for text, count in COUNTS.most_common(8):
        print(f"  {count / n:6.3f}/task  {text}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--children", action="store_true")
    args = ap.parse_args()
    if not args.children and os.environ.get("BENCH_ASYNC") != "1":
        ap.error("in-process runs need BENCH_ASYNC=1 (an async no-op); or pass --children")
    asyncio.run(main(args.n, not args.children))
