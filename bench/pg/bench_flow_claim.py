"""What a limited claim costs (issue 14, point 4), against a plain claim, in one process.

Run by hand, never in CI, from the repository root (PostgreSQL on 127.0.0.1:5432):

    .venv/bin/python -m bench.pg.bench_flow_claim

For each database (a fresh SQLite file, a fresh PostgreSQL database) and ``BENCH_ROUNDS``
rounds (3), alternating: queue ``BENCH_N`` (2,000) tasks of one type and drain them with
``BENCH_CLAIMERS`` (4) concurrent claim → finish loops, each claiming 2 at a time, through the
store (no worker processes, no handlers): once as a plain type, once as a type with
``concurrency=1,000,000`` (never full: what is measured is the limited claim's machinery: its
lock, counts and extra statements). Prints tasks/s and the process's CPU seconds per 1,000
tasks, and the limited/plain ratio of the medians. PostgreSQL's own CPU is not included.

Knobs: BENCH_N, BENCH_ROUNDS, BENCH_CLAIMERS, BENCH_PG (postgresql://postgres@127.0.0.1:5432),
BENCH_STATE_DIR (/tmp/tasktrack-bench-flow).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

import psycopg

from tasktrack.domain.flow import Limits
from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.storage.base import Stores, TaskStore
from tasktrack.storage.factory import open_stores

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLAIMERS = int(os.environ.get("BENCH_CLAIMERS", "4"))
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-flow"))
ORG, USER = "a" * 24, "1" * 24
LIMITS = {"limited": Limits(concurrency=1_000_000)}


def task(name: str, now: float) -> Task:
    return Task(
        id=new_id(now),
        name=name,
        data={},
        status=Status.QUEUED,
        org_id=ORG,
        created_by=USER,
        created_at=int(now),
        last_changed=int(now),
        last_changed_by=USER,
        run_after=now,
    )


async def drain(store: TaskStore, name: str) -> tuple[float, float]:
    """Seconds and CPU seconds to claim and finish every queued ``name`` task."""

    async def loop(worker: str) -> None:
        while claimed := await store.claim(worker, [name], 2, 60.0, time.time(), LIMITS):
            for t in claimed:
                await store.finish(t.id, t.attempts, time.time())

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(loop(f"w{i}") for i in range(CLAIMERS)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def one(url: str, name: str) -> tuple[float, float]:
    stores: Stores = await open_stores(url)
    try:
        now = time.time() - 10
        for start in range(0, N, 100):
            batch = [task(name, now + i / 1e6) for i in range(start, start + 100)]
            await asyncio.gather(*(stores.tasks.create(t) for t in batch))
        seconds, cpu = await drain(stores.tasks, name)
        counts = await stores.tasks.count_by_status()
        assert counts[Status.DONE] == N, counts
        return N / seconds, cpu * 1000 / N
    finally:
        await stores.close()


def fresh_pg() -> tuple[str, str]:
    name = f"tt_bench_flow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return name, f"{PG}/{name}"


def drop_pg(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def measure(db: str, name: str, round_: int) -> tuple[float, float]:
    if db == "sqlite":
        STATE.mkdir(parents=True, exist_ok=True)
        path = STATE / f"{name}-{round_}-{os.getpid()}.db"
        try:
            return await one(f"sqlite:///{path}", name)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    pg_name, url = fresh_pg()
    try:
        return await one(url, name)
    finally:
        drop_pg(pg_name)


async def main() -> None:
    print(f"N={N} claimers={CLAIMERS} rounds={ROUNDS} load={os.getloadavg()[0]:.1f}")
    for db in ("sqlite", "postgres"):
        runs: dict[str, list[tuple[float, float]]] = {"plain": [], "limited": []}
        for r in range(ROUNDS):
            order = ("plain", "limited") if r % 2 == 0 else ("limited", "plain")
            for name in order:
                runs[name].append(await measure(db, name, r))
                rate, cpu = runs[name][-1]
                print(f"{db} {name} round {r + 1}: {rate:.0f} tasks/s, {cpu:.2f} CPU s/1000")
        med = {n: statistics.median(r for r, _ in v) for n, v in runs.items()}
        cpu = {n: statistics.median(c for _, c in v) for n, v in runs.items()}
        print(
            f"{db}: limited/plain throughput {med['limited'] / med['plain']:.2f}, "
            f"CPU per task {cpu['limited'] / cpu['plain']:.2f} "
            f"(load {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    asyncio.run(main())
