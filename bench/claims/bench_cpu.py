"""CPU time per plain task, for before/after comparisons on a shared machine (issue 14, 8).

Wall-clock throughput on a machine other people load swings 2-3x between runs; CPU seconds
per task swing far less. For each database this creates ``BENCH_N`` no-op tasks through
``TaskService.create`` (the producer's CPU per task), then starts one ``tasktrack worker``
(concurrency 2) and lets it drain them (the worker's CPU per task, its child processes
included, read from ``wait4`` after it stops), and prints both with the wall times and
the load average.

Run it from each tree with that tree on ``PYTHONPATH``, alternating:

    PYTHONPATH=$PWD .venv/bin/python -m bench.claims.bench_cpu

It uses only what both trees have (no queues or priorities), so it runs on the tree
before issue 14 too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.e2e.tasks import NAME, registry
from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.service.tasks import TaskService
from tasktrack.storage.factory import open_stores

N = int(os.environ.get("BENCH_N", "3000"))
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
ROOT = Path(__file__).resolve().parents[2]
WHO = Principal("1" * 24, "a" * 24)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def produce(url: str) -> tuple[float, float]:
    """(CPU s, wall s) of creating N tasks one after another."""
    stores = await open_stores(url)
    service = TaskService(stores.tasks, registry)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(N):
        await service.create(WHO, NAME, {})
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await stores.close()
    return cpu, wall


async def drain(url: str) -> tuple[float, float]:
    """(CPU s of the worker and its children, wall s) of draining the N tasks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
    cmd = [sys.executable, "-m", "tasktrack", "worker", "--app", "bench.e2e.tasks"]
    cmd += ["--concurrency", "2", "--database-url", url]
    stores = await open_stores(url)
    wall = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        while (await stores.tasks.count_by_status())[Status.DONE] < N:
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - wall
    finally:
        proc.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(proc.pid, 0)
        await stores.close()
    return usage.ru_utime + usage.ru_stime, wall


async def on(url: str, label: str) -> None:
    before = load()
    p_cpu, p_wall = await produce(url)
    w_cpu, w_wall = await drain(url)
    print(
        f"{label:8} create {p_cpu / N * 1e6:6.0f} µs CPU/task ({N / p_wall:5.0f}/s wall)  "
        f"drain {w_cpu / N * 1e6:6.0f} µs CPU/task incl. worker start ({N / w_wall:5.0f}/s wall)"
        f"  load {before}"
    )


async def main() -> None:
    dbs = os.environ.get("BENCH_DBS", "sqlite,postgres").split(",")
    if "sqlite" in dbs:
        with tempfile.TemporaryDirectory() as tmp:
            await on(f"sqlite:///{tmp}/cpu.db", "sqlite")
    if "postgres" in dbs:
        await on_postgres()


async def on_postgres() -> None:
    db = f"tt_cpu_{os.getpid()}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    try:
        await on(f"{PG}/{db}", "postgres")
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    asyncio.run(main())
