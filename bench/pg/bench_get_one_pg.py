"""GET one task by id over HTTP on PostgreSQL: 1 API process against 2.

Run by hand, never in CI (see bench/README.md, "PostgreSQL (scale-out)"), from the repository
root, with PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth):

    .venv/bin/python -m bench.pg.bench_get_one_pg

Reuses ``bench/http/bench_get_one.py``'s approach and helpers (``launch.py``: uvicorn with
httptools, uvloop, access log off, ``BENCH_WORKERS`` processes; ``wrk -t2 -c32 -d10s --latency
-s random_id.lua`` after a 2-s warm-up; the quiet-machine retry), but the tasktrack app is
served from a fresh PostgreSQL database (``TASKTRACK_DATABASE_URL``, default pool) seeded with
``BENCH_N`` (100,000) tasks by ``COPY``. Worker counts (``BENCH_PG_WORKERS``, "1,2") alternate
for ``BENCH_ROUNDS`` (3) rounds; medians are reported. The database is dropped at the end.

PostgreSQL's own CPU (every ``postgres`` process) is accounted separately from the server's
and from "other load". Knobs: BENCH_N, BENCH_ROUNDS, BENCH_HTTP_SECS, BENCH_CONNECTIONS,
BENCH_THREADS, BENCH_HTTP_PORT (8713), BENCH_PG (postgresql://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg

from tasktrack.api.representation import task_fields
from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.storage.rows import TASK_COLUMNS, task_to_row

HTTP = Path(__file__).resolve().parents[1] / "http"
sys.path.insert(0, str(HTTP))
import bench_get_one as bgo  # noqa: E402

from bench.e2e.bench_e2e import wait_quiet  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = f"tt_bench_get_one_{os.getpid()}"
URL = f"{PG}/{DB}"
WORKERS = [int(w) for w in os.environ.get("BENCH_PG_WORKERS", "1,2").split(",")]
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-pg"))
bgo.PORT = int(os.environ.get("BENCH_HTTP_PORT", "8713"))
bgo.IDS_FILE = STATE / "ids.txt"
bgo.STATE = STATE
log = bgo.log


@dataclass
class Runs:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    pg_cpu_us: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)


def admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as con:
        con.execute(sql.encode())


def seed(n: int) -> tuple[str, list[Task]]:
    """Fresh database, schema, API key, ``n`` tasks by COPY; returns (key, tasks)."""
    STATE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    admin(f"CREATE DATABASE {DB}")
    org_id, user_id, key = asyncio.run(bgo._identity(URL))
    tasks = [
        Task(
            id=new_id(bgo.CREATED_AT),
            name="export-conversations",
            data=bgo.DATA,
            status=Status.ACTIVE,
            org_id=org_id,
            created_by=user_id,
            created_at=bgo.CREATED_AT,
            current_step=3,
            total_step=10,
            last_run_at=bgo.STAMP,
            last_finished_at=bgo.STAMP,
            last_changed=bgo.CREATED_AT,
            last_changed_by=user_id,
            attempts=1,
        )
        for _ in range(n)
    ]
    with psycopg.connect(URL) as con:
        with con.cursor() as cur:
            with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:
                for t in tasks:
                    copy.write_row(task_to_row(t))
        con.commit()
    with psycopg.connect(URL, autocommit=True) as con:
        con.execute("VACUUM ANALYZE tasks")
        row = con.execute("SELECT count(*) FROM tasks").fetchone()
    if row is None or row[0] != n:
        raise SystemExit(f"seeded {row} tasks, expected {n}")
    bgo.IDS_FILE.write_text("\n".join(t.id for t in tasks) + "\n")
    log(f"seeded {n} tasks into {DB} in {time.perf_counter() - t0:.1f}s")
    return key, tasks


def start(workers: int, url: str, headers: dict[str, str]) -> subprocess.Popen[bytes]:
    """``launch.py`` (BENCH_APP=tasktrack) on the PostgreSQL database, own process group."""
    env = dict(
        os.environ,
        BENCH_APP="tasktrack",
        BENCH_PORT=str(bgo.PORT),
        BENCH_WORKERS=str(workers),
        BENCH_ACCESS_LOG="0",
        TASKTRACK_DATABASE_URL=URL,
    )
    err = open(STATE / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, str(HTTP / "launch.py")],
        cwd=bgo.REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
        start_new_session=True,
    )
    err.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            if bgo._get(url, headers)[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            bgo.stop(proc)
            tail = (STATE / "server.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"server did not come up\n{tail}")
        time.sleep(0.1)
    if workers > 1:
        time.sleep(1.5)
    return proc


def pg_jiffies() -> int:
    """CPU time (utime + stime) of every live ``postgres`` process."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total


def measure(workers: int, key: str, task: Task) -> tuple[bgo.Sample, float, float]:
    """(wrk sample, PostgreSQL CPU µs/request, other load in cores without PostgreSQL)."""
    headers = {"X-API-Key": key, "Accept": "application/json"}
    url = f"http://127.0.0.1:{bgo.PORT}/v2.0/tasks/{task.id}"
    wait_quiet()
    proc = start(workers, url, headers)
    try:
        status, body = bgo._get(url, headers)
        if status != 200 or body != orjson.dumps(task_fields(task)):
            raise SystemExit(f"unexpected reply {status}: {body[:300]!r}")
        bgo.wrk(bgo.WARMUP_SECS, headers, proc.pid)
        best: tuple[bgo.Sample, float, float] | None = None
        for _ in range(1 + bgo.RETRIES):
            pg0, t0 = pg_jiffies(), time.time()
            s = bgo.wrk(bgo.SECS, headers, proc.pid)
            pg_s, t1 = (pg_jiffies() - pg0) / bgo.CLK_TCK, time.time()
            other = max(s.foreign - pg_s / (t1 - t0), 0.0)
            cur = (s, pg_s / max(s.requests, 1) * 1e6, other)
            if best is None or other < best[2]:
                best = cur
            if best[2] <= bgo.MAX_FOREIGN:
                break
            log(f"  other processes used {other:.2f} cores; again")
    finally:
        bgo.stop(proc)
    assert best is not None
    if best[0].non_2xx:
        raise SystemExit(f"x{workers}: {best[0].non_2xx} non-2xx responses")
    return best


def pg_version() -> str:
    with psycopg.connect(f"{PG}/postgres") as con:
        row = con.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def main() -> None:
    info = bgo.machine()
    info["postgresql"] = pg_version()
    log(f"machine: {info}")
    med = statistics.median
    results = {w: Runs() for w in WORKERS}
    try:
        key, tasks = seed(bgo.N_TASKS)
        sample = tasks[len(tasks) // 2]
        for rnd in range(1, bgo.ROUNDS + 1):
            for w in WORKERS:
                s, pg_us, other = measure(w, key, sample)
                r = results[w]
                r.rps.append(s.rps)
                r.p50_ms.append(s.p50_ms)
                r.p99_ms.append(s.p99_ms)
                r.cpu_us.append(s.cpu_us)
                r.pg_cpu_us.append(pg_us)
                r.other.append(other)
                log(
                    f"round {rnd} x{w}: {s.rps:,.0f} req/s p50 {s.p50_ms:.2f} ms "
                    f"p99 {s.p99_ms:.2f} ms, server {s.cpu_us:.0f} µs CPU/req, postgres "
                    f"{pg_us:.0f} µs/req, others {other:.2f} cores {s.socket_errors}"
                )
    finally:
        admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    for w, r in results.items():
        print(json.dumps({"workers": w, **r.__dict__}), flush=True)
    print()
    print(
        f"Machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, PostgreSQL "
        f"{info['postgresql']}, commit {info['commit']}; wrk -t{bgo.THREADS} "
        f"-c{bgo.CONNECTIONS} -d{bgo.SECS}s, medians of {bgo.ROUNDS} rounds, "
        f"{bgo.N_TASKS:,} tasks."
    )
    print()
    print(
        "| API processes | req/s | p50 ms | p99 ms | server CPU µs/req | postgres CPU µs/req "
        "| req/s vs 1 process (median of per-round) | req/s per round | other load (cores) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    base = results.get(1)
    for w, r in results.items():
        vs = (
            f"{med(a / b for a, b in zip(r.rps, base.rps, strict=True)):.2f}x"
            if base is not None
            else "-"
        )
        print(
            f"| {w} | {med(r.rps):,.0f} | {med(r.p50_ms):.2f} | {med(r.p99_ms):.2f} "
            f"| {med(r.cpu_us):.0f} | {med(r.pg_cpu_us):.0f} | {vs} "
            f"| {', '.join(f'{x:,.0f}' for x in r.rps)} "
            f"| {', '.join(f'{x:.2f}' for x in r.other)} |"
        )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
