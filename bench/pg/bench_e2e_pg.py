"""End-to-end throughput on PostgreSQL: tasktrack against procrastinate, in one run.

Run by hand, never in CI (see bench/README.md, "PostgreSQL (scale-out)"), from the repository
root, with PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth):

    bash /work/shared/bench-peers/setup.sh          # once, as root: the peers' venv
    .venv/bin/python -m bench.pg.bench_e2e_pg

Measured exactly as ``bench/e2e/bench_e2e.py`` measures the SQLite variants (whose helpers it
reuses: worker process, producer, quiet-window wait, tables), but every tasktrack run gets a
fresh database (``CREATE DATABASE`` / ``DROP DATABASE ... WITH (FORCE)``) on the server
procrastinate uses, URL ``postgresql://postgres@127.0.0.1:5432/<db>``:

1. open the stores on the fresh database (migrations), create the default organisation and
   user (warms the producer's pool);
2. create ``BENCH_N`` no-op tasks through ``TaskService.create`` — create-only rate;
3. launch ``BENCH``-variant many ``python -m tasktrack worker --app bench.e2e.tasks
   --concurrency 2 --database-url <url>`` processes and poll until all tasks are done;
4. read the workers' stamps: raw ``last_finished_at`` / ``last_run_at`` (double precision
   seconds). ``created_at`` is whole seconds, so first create is the producer's clock, as
   for the peers.

Variants (``BENCH_VARIANTS``; default all):

  seq-1w    sequential producer, 1 worker process x concurrency 2
  conc-1w   producer gathers batches of ``BENCH_BATCH`` (64) creates; 1 worker x 2 — the
            like-for-like with procrastinate's harness (one worker process, concurrency 2)
  conc-2w   the same producer; 2 worker processes x 2

procrastinate runs its unmodified harness (``/work/shared/bench-peers/procrastinate``) with the
peers' venv: sync ``defer`` one at a time, then one worker process, concurrency 2,
``wait=False``; completions from ``procrastinate_events``.

Knobs: BENCH_N, BENCH_ROUNDS, BENCH_BATCH, BENCH_QUIET_MAX, BENCH_QUIET_BUSY (as bench/e2e),
BENCH_VARIANTS, BENCH_PG (postgresql://postgres@127.0.0.1:5432), BENCH_PEERS ("procrastinate";
"" to skip). ``--table RESULTS_JSON`` reprints a saved run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.e2e import bench_e2e as e2e
from bench.e2e.tasks import NAME, registry
from tasktrack.domain.identity import Principal
from tasktrack.service.identity import IdentityService
from tasktrack.service.tasks import TaskService
from tasktrack.storage.factory import open_stores

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-pg"))
PEERS = [p for p in os.environ.get("BENCH_PEERS", "procrastinate").split(",") if p]
e2e.PEERS["procrastinate"] = "procrastinate/bench_e2e.py"
# The peer to beat on PostgreSQL (issue 15): dequeue batch 10, bulk enqueue; "pgqueuer-single"
# enqueues one job per call, the like-for-like with tasktrack's one-at-a-time creates.
e2e.PEERS["pgqueuer"] = "pgqueuer/bench_e2e.py"
e2e.PEERS["pgqueuer-single"] = "pgqueuer/bench_e2e_single.py"

Record = e2e.Record
log = e2e.log


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    concurrent: bool
    workers: int


VARIANTS = {
    v.key: v
    for v in (
        Variant("seq-1w", "tasktrack pg (sequential producer), 1 worker x2", False, 1),
        Variant("conc-1w", f"tasktrack pg (gather x{e2e.BATCH}), 1 worker x2", True, 1),
        Variant("conc-2w", f"tasktrack pg (gather x{e2e.BATCH}), 2 workers x2", True, 2),
    )
}


def admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as con:
        con.execute(sql.encode())


def read_stamps(url: str) -> tuple[int, float, float, float]:
    """(done count, first completion, last completion, first claim) from the raw columns."""
    with psycopg.connect(url) as con:
        row = con.execute(
            "SELECT count(*), min(last_finished_at), max(last_finished_at), min(last_run_at) "
            "FROM tasks WHERE name = %s AND status = 'done'",
            (NAME,),
        ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2]), float(row[3])


async def run_tasktrack(variant: Variant, n: int, rnd: int) -> list[Record]:
    STATE.mkdir(parents=True, exist_ok=True)
    db = f"tt_bench_{os.getpid()}_{variant.key.replace('-', '_')}"
    admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin(f"CREATE DATABASE {db}")
    url = f"{PG}/{db}"
    workers: list[e2e.WorkerProcess] = []
    try:
        stores = await open_stores(url)
        try:
            org, user = await IdentityService(stores.identity).ensure_default()
            principal = Principal(user.id, org.id, via="internal")
            service = TaskService(stores.tasks, registry)
            t_enq0 = time.time()
            await e2e.produce(service, principal, n, variant.concurrent)
            t_enq1 = time.time()
            log(f"{variant.label}: created {n} in {t_enq1 - t_enq0:.2f}s")
            t_launch = time.time()
            for i in range(variant.workers):
                workers.append(e2e.WorkerProcess(url, STATE / f"{variant.key}-{i}.log"))
            while True:  # wait_done checks one worker; check them all
                for w in workers:
                    w.check()
                try:
                    await asyncio.wait_for(e2e.wait_done(stores.tasks, n, workers[0]), 1.0)
                    break
                except TimeoutError:
                    continue
        finally:
            for w in workers:
                w.stop()
            await stores.close()
        done, first_done, last_done, first_claim = read_stamps(url)
    finally:
        admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    if done != n:
        raise SystemExit(f"{variant.label}: {done}/{n} done")
    p = variant.label
    return [
        e2e.record(p, e2e.E2E, n / (last_done - t_enq0), "tasks/s", rnd),
        e2e.record(p, e2e.ENQ, n / (t_enq1 - t_enq0), "tasks/s", rnd),
        e2e.record(p, e2e.DRAIN, (n - 1) / (last_done - first_done), "tasks/s", rnd),
        e2e.record(p, e2e.DRAIN_CLAIM, n / (last_done - first_claim), "tasks/s", rnd),
        e2e.record(p, e2e.STARTUP, first_done - t_launch, "s", rnd),
    ]


def ratio_table(rows: list[Record]) -> str:
    """Per-round ratio tasktrack / procrastinate (end to end and drain), then the median."""
    by: dict[tuple[str, str, int], float] = {}
    for r in rows:
        by[(r["metric"], r["peer"], r["round"])] = float(r["value"])
    labels = sorted({r["peer"] for r in rows if r["peer"].startswith("tasktrack")})
    out = [
        "| tasktrack variant | metric | ratio vs procrastinate (median of per-round) | per round |",
        "| --- | --- | ---: | --- |",
    ]
    rounds = sorted({r["round"] for r in rows})
    for label in labels:
        for metric in (e2e.E2E, e2e.DRAIN, e2e.ENQ):
            rs = [
                by[(metric, label, k)] / by[(metric, "procrastinate", k)]
                for k in rounds
                if (metric, label, k) in by and (metric, "procrastinate", k) in by
            ]
            if rs:
                out.append(
                    f"| {label} | {metric} | {statistics.median(rs):.2f}x | "
                    f"{', '.join(f'{x:.2f}' for x in rs)} |"
                )
    return "\n".join(out)


def report(rows: list[Record]) -> None:
    print()
    print(e2e.results_table(rows))
    print()
    print(ratio_table(rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", type=Path, help="reprint the tables of a saved results JSON")
    args = parser.parse_args()
    if args.table:
        report(json.loads(args.table.read_text()))
        return
    keys = os.environ.get("BENCH_VARIANTS", ",".join(VARIANTS)).split(",")
    rows: list[Record] = []
    busy: dict[str, list[float]] = defaultdict(list)
    for rnd in range(1, e2e.ROUNDS + 1):
        for key in keys:
            b = e2e.wait_quiet()
            busy[key].append(b)
            rows.append(e2e.record(VARIANTS[key].label, e2e.BUSY, b, "share", rnd))
            rows += asyncio.run(run_tasktrack(VARIANTS[key], e2e.N_TASKS, rnd))
        for peer in PEERS:
            b = e2e.wait_quiet()
            rows.append(e2e.record(peer, e2e.BUSY, b, "share", rnd))
            rows += e2e.run_peer(peer, e2e.N_TASKS, rnd)
    STATE.mkdir(parents=True, exist_ok=True)
    out = STATE / f"results-{int(time.time())}.json"
    out.write_text(json.dumps(rows))
    log(f"results saved to {out}")
    report(rows)


if __name__ == "__main__":
    sys.exit(main())
