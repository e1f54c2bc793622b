"""Where the worker's CPU goes while it drains: CPU seconds per thread and per child process.

A by-hand tool, not CI. From the repository root:

    .venv/bin/python -m bench.e2e.cpu_split
    BENCH_N=10000 BENCH_WORKER_ENV="TASKTRACK_PREFETCH=0" .venv/bin/python -m bench.e2e.cpu_split

Seeds a fresh SQLite file with ``BENCH_N`` no-op tasks, starts ``tasktrack worker -c 2``,
samples ``/proc/<pid>/task/*/stat`` of the worker and its children every 0.2 s until every
task is done, and prints the drain rate (first claim to last finish, the tasks' own stamps)
and, per thread, CPU seconds, share of the drain and µs per task. CPU counts from the
worker's start, so start-up (imports, ~0.5 s) is in the main thread's figure. Load-robust
where throughput is not: compare µs per task across trees when the machine is busy.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time

from bench.e2e.bench_e2e import STATE, WorkerProcess, fresh_db
from bench.e2e.profile_worker import seed

N = int(os.environ.get("BENCH_N", "10000"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of each thread of ``pid``, keyed ``pid/name/tid``."""
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with (
            open(f"/proc/{pid}/task/{tid}/stat") as stat,
            open(f"/proc/{pid}/task/{tid}/comm") as comm,
        ):
            fields = stat.read().rsplit(")", 1)[1].split()
            name = comm.read().strip()
        out[f"{pid}/{name}/{tid}"] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def snapshot(pid: int) -> dict[str, float]:
    """The worker's threads and its children's."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    found = cpu_of(pid)
    for child in children.stdout.split():
        found.update(cpu_of(int(child)))
    return found


def main() -> None:
    path = STATE / "cpu_split.db"
    STATE.mkdir(parents=True, exist_ok=True)
    fresh_db(path)
    url = f"sqlite:///{path}"
    asyncio.run(seed(url, N))
    worker = WorkerProcess(url, STATE / "cpu_split-worker.log")  # BENCH_WORKER_ENV applies
    con = sqlite3.connect(path)
    last: dict[str, float] = {}
    try:
        while True:
            done = con.execute("SELECT count(*) FROM tasks WHERE status = 'done'").fetchone()[0]
            try:
                last = snapshot(worker.proc.pid)
            except FileNotFoundError:  # a thread or child came or went mid-read
                pass
            if done >= N:
                break
            time.sleep(0.2)
        span = "SELECT min(last_run_at), max(last_finished_at) FROM tasks"
        first, end = con.execute(span).fetchone()
    finally:
        worker.stop()
        con.close()
    wall = end - first
    print(f"drained {N} in {wall:.2f}s: {N / wall:,.0f}/s (cores: {os.cpu_count()})")
    for key, cpu in sorted(last.items(), key=lambda kv: -kv[1]):
        if cpu > 0.05:
            share, per_task = cpu / wall * 100, cpu / N * 1e6
            print(f"  {key}: {cpu:.2f}s CPU = {share:.0f}% of the drain, {per_task:.0f} µs/task")


if __name__ == "__main__":
    main()
