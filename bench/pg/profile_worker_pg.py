"""Profile the tasktrack worker draining no-op tasks on PostgreSQL (a by-hand tool, not CI).

    .venv/bin/python -m bench.pg.profile_worker_pg --n 10000

Seeds a fresh PostgreSQL database with ``--n`` no-op tasks (gather x64 producer), launches
``python -m tasktrack worker --app bench.e2e.tasks --concurrency 2`` on it, attaches
``py-spy record --subprocesses --threads`` (``.venv/bin/py-spy``; ``--no-profile`` skips it),
and while it drains samples ``pg_stat_activity`` (wait events of the database's backends) and
the CPU used by the worker's processes and by PostgreSQL. Prints the drain rate, the drain rate
per slice of ``--drain-every`` tasks, where the CPU went, the wait events, and the py-spy
frames ranked (``bench.e2e.profile_worker.summarize``). Drops the database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

from bench.e2e.bench_e2e import ROOT, WorkerProcess
from bench.e2e.profile_worker import seed, summarize
from bench.pg.bench_e2e_pg import PG, STATE, admin, read_stamps
from bench.pg.bench_get_one_pg import pg_jiffies

CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_jiffies(root: int) -> int:
    """CPU time of ``root`` and its live descendants."""
    parents: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0)
        todo += [p for p, pp in parents.items() if pp == pid]
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--py-spy", default=str(ROOT / ".venv" / "bin" / "py-spy"))
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--rate", type=int, default=250)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--drain-every", type=int, default=1000)
    args = ap.parse_args()

    STATE.mkdir(parents=True, exist_ok=True)
    db = f"tt_bench_profile_{os.getpid()}"
    url = f"{PG}/{db}"
    admin(f"CREATE DATABASE {db}")
    spy: subprocess.Popen[bytes] | None = None
    worker: WorkerProcess | None = None
    out = STATE / "profile-worker-pg.txt"
    waits: Counter[str] = Counter()
    try:
        asyncio.run(seed(url, args.n))
        print(f"seeded {args.n} tasks", file=sys.stderr)
        mon = psycopg.connect(url, autocommit=True)
        pg0, t0 = pg_jiffies(), time.time()
        worker = WorkerProcess(url, STATE / "profile-worker-pg.log")
        if not args.no_profile:
            spy = subprocess.Popen(
                [
                    *(args.py_spy, "record", "--pid", str(worker.proc.pid), "--subprocesses"),
                    *("--threads", "--rate", str(args.rate), "--format", "raw", "-o", str(out)),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
        wk = 0
        while True:
            worker.check()
            wk = max(wk, tree_jiffies(worker.proc.pid))
            for state, event in mon.execute(
                "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') "
                "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (db,),
            ):
                waits[f"{state} / {event}"] += 1
            row = mon.execute("SELECT count(*) FROM tasks WHERE status = 'done'").fetchone()
            if row is not None and row[0] >= args.n:
                break
            time.sleep(0.05)
        pg_s, wall = (pg_jiffies() - pg0) / CLK_TCK, time.time() - t0
        stamps = [
            r[0]
            for r in mon.execute(
                "SELECT last_finished_at FROM tasks WHERE status = 'done' ORDER BY 1"
            )
        ]
        mon.close()
    finally:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        if worker is not None:
            worker.stop()
        try:
            done, _first, last, first_claim = read_stamps(url)
        finally:
            admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(
        f"drained {done} in {last - first_claim:.2f}s: {done / (last - first_claim):.0f} "
        f"tasks/s from the first claim ({'profiled' if spy else 'not profiled'})"
    )
    e = args.drain_every
    rates = [e / (stamps[i + e - 1] - stamps[i]) for i in range(0, len(stamps) - e + 1, e)]
    print("per-slice tasks/s:", " ".join(f"{r:.0f}" for r in rates))
    print(
        f"CPU over {wall:.1f}s wall: worker processes {wk / CLK_TCK:.1f}s "
        f"({wk / CLK_TCK / done * 1e6:.0f} µs/task), PostgreSQL {pg_s:.1f}s "
        f"({pg_s / done * 1e6:.0f} µs/task)"
    )
    total = sum(waits.values())
    print("pg_stat_activity samples (state / wait event) of the database's backends:")
    for k, n in waits.most_common(12):
        print(f"  {100 * n / total:5.1f}%  {k}")
    if spy is not None and out.exists():
        print(f"profile: {out}")
        print(summarize(out, args.top))


if __name__ == "__main__":
    main()
