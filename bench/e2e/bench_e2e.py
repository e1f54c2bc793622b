"""End-to-end runtime throughput: tasktrack against Celery, RQ and Dramatiq, in one run.

Run by hand, never in CI (see bench/README.md), from the repository root:

    bash /work/shared/bench-peers/setup.sh          # once, as root: Redis + the peers' venv
    .venv/bin/python -m bench.e2e.bench_e2e

Each round runs, in this order, every tasktrack variant and then every peer; ``BENCH_ROUNDS``
rounds (default 3); medians are reported, and ratios tasktrack/peer are taken within a round
before their median is taken.

tasktrack (SQLite file, ``synchronous=FULL``: every create and every state change is durable
before it is acknowledged) is measured the way the peer harness measures the peers
(``/work/shared/bench-peers/*/bench_e2e.py``):

1. open a fresh database, create the default organisation and user (this also warms the
   producer: its connection and writer thread);
2. create ``BENCH_N`` no-op tasks from one producer through ``TaskService.create`` — the
   create-only rate;
3. launch ``python -m tasktrack worker --app bench.e2e.tasks --concurrency 2`` (two spawned
   child processes running handlers) and wait, polling ``count_by_status`` every 0.25 s, until
   all are ``done``;
4. read the workers' own stamps from the SQLite file: the raw ``last_finished_at`` REAL column
   (float seconds) and ``last_run_at`` (claim time).

Metrics, with the peers' definitions (``common.emit_e2e``): end to end = N / (last completion -
first create); create-only = N / (last create returned - first create); drain-only = (N - 1) /
(last completion - first completion), which, as for the peers, leaves worker start-up out;
worker start-up = first completion - worker launch. tasktrack also gets drain-only from the
first claim (N / (last completion - first claim)).

Variants (``BENCH_VARIANTS``, comma-separated; default all):

  seq            the producer awaits each create before the next (one commit each)
  conc           the producer runs ``asyncio.gather`` over batches of ``BENCH_BATCH`` (64)
                 creates, so the store's writer thread group-commits them
  overlap-conc   the worker is started first and waited for ("ready" in its log, outside the
                 clock); creates (as in conc) and drains then overlap: the real-world case
  overlap-seq    the same with the sequential producer
  overlap-embed  the worker runs inside the producer's process on the same stores, as
                 ``tasktrack serve`` runs it by default (``embedded_worker``), started before
                 the clock; creates (as in conc) and drains overlap

Peers (``BENCH_PEERS``; default ``celery,rq,dramatiq``) run their unmodified harness scripts
with the peers' venv (``PEERS_VENV``, default /tmp/peers-venv) in a subprocess.

The machine may be shared: before each run the script waits (at most ``BENCH_QUIET_MAX``
seconds, default 90) for a 2-second window in which the CPUs are less than
``BENCH_QUIET_BUSY`` (default 0.3) busy, and records how busy they were
("machine busy before run").

Knobs: BENCH_N (10000), BENCH_ROUNDS (3), BENCH_BATCH (64), BENCH_VARIANTS, BENCH_PEERS,
BENCH_WORKER_ENV (worker settings, e.g. "TASKTRACK_PREFETCH=0"), BENCH_RESULT=1 (store a result),
BENCH_PEERS_DIR (/work/shared/bench-peers), PEERS_VENV, BENCH_STATE_DIR
(/tmp/tasktrack-bench-e2e; databases, worker logs, results JSON), BENCH_QUIET_MAX,
BENCH_QUIET_BUSY.
``--table RESULTS_JSON`` reprints the tables of a saved run.

Output: one JSON line per metric on stdout as it is measured, then the markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.e2e.tasks import NAME, registry
from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.service.identity import IdentityService
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import TaskStore
from tasktrack.storage.factory import open_stores
from tasktrack.worker.embedded import embedded_worker
from tasktrack.worker.worker import Worker, WorkerOptions

ROOT = Path(__file__).resolve().parents[2]
N_TASKS = int(os.environ.get("BENCH_N", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCH = int(os.environ.get("BENCH_BATCH", "64"))
CONCURRENCY = 2
PEERS_DIR = Path(os.environ.get("BENCH_PEERS_DIR", "/work/shared/bench-peers"))
PEERS_PY = Path(os.environ.get("PEERS_VENV", "/tmp/peers-venv")) / "bin" / "python"
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-e2e"))
POLL = 0.25
DEADLINE = 900.0
QUIET_MAX = float(os.environ.get("BENCH_QUIET_MAX", "90"))
QUIET_BUSY = float(os.environ.get("BENCH_QUIET_BUSY", "0.3"))

E2E = "e2e tasks/s (first enqueue -> last completion)"
ENQ = "enqueue-only tasks/s"
DRAIN = "drain-only tasks/s (first -> last completion)"
DRAIN_CLAIM = "drain-only tasks/s (first claim -> last completion)"
STARTUP = "worker start-up s (launch -> first completion)"
READY = "worker ready s (launch -> ready, outside the clock)"
LAG = "lag s (last create -> last completion)"
BUSY = "machine busy before run (other processes)"
METRIC_ORDER = [E2E, ENQ, DRAIN, DRAIN_CLAIM, STARTUP, READY, LAG, BUSY]


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    concurrent: bool
    overlap: bool
    embedded: bool = False


VARIANTS = {
    v.key: v
    for v in (
        Variant("seq", "tasktrack (sequential producer)", False, False),
        Variant("conc", f"tasktrack (producer: gather x{BATCH})", True, False),
        Variant("overlap-conc", f"tasktrack overlap (producer: gather x{BATCH})", True, True),
        Variant("overlap-seq", "tasktrack overlap (sequential producer)", False, True),
        Variant(
            "overlap-embed", f"tasktrack overlap, embedded (gather x{BATCH})", True, True, True
        ),
    )
}
PEERS = {
    "celery": "celery/bench_e2e.py",
    "rq": "rq/bench_e2e.py",
    "dramatiq": "dramatiq/bench_e2e.py",
    # The peer to beat on SQLite (issue 15): SqliteHuey, WAL, synchronous=FULL, 2 processes.
    "huey": "huey/bench_e2e.py",
}

Record = dict[str, Any]


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def record(peer: str, metric: str, value: float, unit: str, rnd: int) -> Record:
    rec: Record = {"peer": peer, "metric": metric, "value": round(value, 6), "unit": unit}
    print(json.dumps(rec), flush=True)
    return {**rec, "round": rnd}


def cpu_busy(seconds: float) -> float:
    """Fraction of all CPUs' time spent busy over the next ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields[:8]) - idle, sum(fields[:8])

    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / max(t1 - t0, 1)


def wait_quiet() -> float:
    """Wait for a quiet 2-s window (at most QUIET_MAX s); returns the last window's busy share."""
    deadline = time.monotonic() + QUIET_MAX
    busy = cpu_busy(2.0)
    while busy > QUIET_BUSY and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    if busy > QUIET_BUSY:
        log(f"  machine still {busy:.0%} busy after {QUIET_MAX:.0f} s: running anyway")
    return busy


# -- tasktrack ---------------------------------------------------------------------------------


class WorkerProcess:
    """``python -m tasktrack worker`` on the benchmark database, logging to a file."""

    def __init__(self, url: str, log_path: Path) -> None:
        # Defaults, except the settings named in BENCH_WORKER_ENV ("TASKTRACK_PREFETCH=0 ...").
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKTRACK_")}
        env.update(pair.split("=", 1) for pair in os.environ.get("BENCH_WORKER_ENV", "").split())
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.log_path = log_path
        self._log = log_path.open("wb")
        cmd = [
            sys.executable,
            "-m",
            "tasktrack",
            "worker",
            "--app",
            "bench.e2e.tasks",
            "--concurrency",
            str(CONCURRENCY),
            "--database-url",
            url,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"tasktrack worker exited ({self.proc.returncode}): {self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while b" ready: " not in self.log_path.read_bytes():
            self.check()
            if time.monotonic() > deadline:
                raise SystemExit(f"tasktrack worker not ready after 60 s: {self.tail()}")
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM (graceful: it is idle by now), then SIGKILL if it lingers."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        finally:
            self._log.close()


async def produce(service: TaskService, principal: Principal, n: int, concurrent: bool) -> None:
    if not concurrent:
        for _ in range(n):
            await service.create(principal, NAME)
        return
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        await asyncio.gather(*(service.create(principal, NAME) for _ in range(size)))


async def wait_done(store: TaskStore, n: int, worker: WorkerProcess | None) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        counts = await store.count_by_status()
        if counts[Status.DONE] >= n:
            return
        bad = counts[Status.ERROR] + counts[Status.CANCELLED]
        if bad:
            raise SystemExit(f"tasktrack: {bad} tasks ended badly: {counts}")
        if worker is not None:
            worker.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"tasktrack: not finished after {DEADLINE:.0f} s: {counts}")
        await asyncio.sleep(POLL)


def fresh_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def read_stamps(path: Path) -> tuple[int, float, float, float]:
    """(done count, first completion, last completion, first claim) from the raw columns."""
    con = sqlite3.connect(path)
    try:
        row = con.execute(
            "SELECT count(*), min(last_finished_at), max(last_finished_at), min(last_run_at) "
            "FROM tasks WHERE name = ? AND status = 'done'",
            (NAME,),
        ).fetchone()
    finally:
        con.close()
    return int(row[0]), float(row[1]), float(row[2]), float(row[3])


async def run_tasktrack(variant: Variant, n: int, rnd: int) -> list[Record]:
    STATE.mkdir(parents=True, exist_ok=True)
    db_path = STATE / f"{variant.key}.db"
    fresh_db(db_path)
    url = f"sqlite:///{db_path}"  # db_path is absolute: sqlite:////tmp/...
    stores = await open_stores(url)  # synchronous=FULL, the default
    worker: WorkerProcess | None = None
    embedded: contextlib.AbstractAsyncContextManager[Worker] | None = None
    try:
        org, user = await IdentityService(stores.identity).ensure_default()
        principal = Principal(user.id, org.id, via="internal")
        service = TaskService(stores.tasks, registry)
        t_launch = t_ready = 0.0
        if variant.embedded:
            t_launch = time.time()
            options = WorkerOptions(
                concurrency=CONCURRENCY, app_modules=("bench.e2e.tasks",), demo=False
            )
            embedded = embedded_worker(stores.tasks, service, registry, options)
            await embedded.__aenter__()
            t_ready = time.time()
        elif variant.overlap:
            t_launch = time.time()
            worker = WorkerProcess(url, STATE / f"{variant.key}-worker.log")
            await worker.wait_ready()
            t_ready = time.time()
        t_enq0 = time.time()
        await produce(service, principal, n, variant.concurrent)
        t_enq1 = time.time()
        log(f"{variant.label}: created {n} in {t_enq1 - t_enq0:.2f}s")
        if worker is None and embedded is None:
            t_launch = time.time()
            worker = WorkerProcess(url, STATE / f"{variant.key}-worker.log")
        await wait_done(stores.tasks, n, worker)
    finally:
        if embedded is not None:
            await embedded.__aexit__(None, None, None)
        if worker is not None:
            worker.stop()
        await stores.close()
    done, first_done, last_done, first_claim = read_stamps(db_path)
    if done != n:
        raise SystemExit(f"{variant.label}: {done}/{n} done")
    p = variant.label
    out = [
        record(p, E2E, n / (last_done - t_enq0), "tasks/s", rnd),
        record(p, ENQ, n / (t_enq1 - t_enq0), "tasks/s", rnd),
        record(p, DRAIN, (n - 1) / (last_done - first_done), "tasks/s", rnd),
        record(p, DRAIN_CLAIM, n / (last_done - first_claim), "tasks/s", rnd),
    ]
    if variant.overlap:
        out.append(record(p, READY, t_ready - t_launch, "s", rnd))
        out.append(record(p, LAG, last_done - t_enq1, "s", rnd))
    else:
        out.append(record(p, STARTUP, first_done - t_launch, "s", rnd))
    return out


# -- peers -------------------------------------------------------------------------------------


def run_peer(name: str, n: int, rnd: int) -> list[Record]:
    """One unmodified peer harness script; its JSON lines become records."""
    env = dict(os.environ, BENCH_N=str(n), PYTHONDONTWRITEBYTECODE="1")
    script = PEERS_DIR / PEERS[name]
    p = subprocess.run(
        [str(PEERS_PY), str(script)],
        cwd=PEERS_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        timeout=DEADLINE + 120,
        check=False,
    )
    if p.returncode != 0:
        log(f"  {name} FAILED rc={p.returncode}")
    out = []
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            print(line, flush=True)
            out.append({**rec, "round": rnd})
    return out


# -- report ------------------------------------------------------------------------------------


def fmt(v: float) -> str:
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def results_table(rows: Iterable[Record]) -> str:
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    order: dict[tuple[str, str, str], int] = {}
    for i, r in enumerate(rows):
        key = (r["metric"], r["peer"], r["unit"])
        groups[key].append(float(r["value"]))
        order.setdefault(key, i)
    rank = {m: i for i, m in enumerate(METRIC_ORDER)}
    keys = sorted(groups, key=lambda k: (rank.get(k[0], 99), order[k]))
    out = [
        "| metric | system | median | spread (min-max) | unit | runs |",
        "| --- | --- | ---: | --- | --- | ---: |",
    ]
    for metric, peer, unit in keys:
        xs = groups[(metric, peer, unit)]
        out.append(
            f"| {metric} | {peer} | {fmt(statistics.median(xs))} | "
            f"{fmt(min(xs))}-{fmt(max(xs))} | {unit} | {len(xs)} |"
        )
    return "\n".join(out)


def compact_table(rows: Iterable[Record]) -> str:
    """One row per system: medians (min-max) of the headline metrics."""
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    systems: list[str] = []
    for r in rows:
        groups[(r["peer"], r["metric"])].append(float(r["value"]))
        if r["peer"] not in systems:
            systems.append(r["peer"])
    systems.sort(key=lambda p: (not p.startswith("tasktrack"), _variant_rank(p)))

    def cell(system: str, metric: str) -> str:
        xs = groups.get((system, metric))
        if not xs:
            return "-"
        return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}-{fmt(max(xs))})"

    out = [
        "| system | end to end tasks/s | create-only tasks/s | drain-only tasks/s "
        "| worker start-up s | busy before run % |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for system in systems:
        startup = cell(system, STARTUP)
        if startup == "-":
            startup = f"ready in {cell(system, READY)}, before the clock"
        out.append(
            f"| {system} | {cell(system, E2E)} | {cell(system, ENQ)} | {cell(system, DRAIN)} "
            f"| {startup} | {cell(system, BUSY)} |"
        )
    return "\n".join(out)


def ratio_table(rows: Iterable[Record]) -> str:
    """tasktrack variant / peer, per round for each metric, then the median over rounds."""
    by_round: dict[int, dict[tuple[str, str], float]] = defaultdict(dict)
    for r in rows:
        by_round[r["round"]][(r["peer"], r["metric"])] = float(r["value"])
    ours = sorted({p for vals in by_round.values() for p, _ in vals if p.startswith("tasktrack")})
    peers = [p for p in PEERS if any((p, E2E) in vals for vals in by_round.values())]
    if not peers:
        return "(no peer measured)"
    out = [
        "| tasktrack variant | metric | " + " | ".join(f"÷ {p}" for p in peers) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in peers) + " |",
    ]
    for variant in sorted(ours, key=_variant_rank):
        for metric, short in ((E2E, "end to end"), (ENQ, "create-only"), (DRAIN, "drain-only")):
            cells = []
            for peer in peers:
                ratios = [
                    vals[(variant, metric)] / vals[(peer, metric)]
                    for vals in by_round.values()
                    if (variant, metric) in vals and (peer, metric) in vals
                ]
                cells.append(f"{statistics.median(ratios):.2f}x" if ratios else "-")
            out.append(f"| {variant} | {short} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _variant_rank(label: str) -> int:
    for i, v in enumerate(VARIANTS.values()):
        if v.label == label:
            return i
    return 99


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    peers_py = "?"
    versions = "?"
    try:
        peers_py = subprocess.run(
            [str(PEERS_PY), "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        versions = subprocess.run(
            [
                str(PEERS_PY),
                "-c",
                "from importlib.metadata import version as v; "
                "print(', '.join(f'{p} {v(p)}' for p in "
                "('celery', 'kombu', 'redis', 'rq', 'dramatiq')))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        redis = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[2]
    except (OSError, subprocess.CalledProcessError, IndexError):
        redis = "?"
    return (
        f"{os.cpu_count()} cores ({cpu}); tasktrack on Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; peers on Python {peers_py} ({versions}), "
        f"Redis {redis}"
    )


def report(rows: list[Record], n: int, rounds: int, machine_line: str) -> str:
    return (
        f"# {machine_line}\n# N = {n:,} tasks, concurrency {CONCURRENCY}, {rounds} rounds, "
        f"medians (min-max)\n\n{compact_table(rows)}\n\nAll metrics:\n\n{results_table(rows)}"
        f"\n\nRatios tasktrack ÷ peer (same round, then "
        f"median; > 1 means tasktrack is faster):\n\n{ratio_table(rows)}\n"
    )


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--table", metavar="RESULTS_JSON", help="reprint a saved run's tables")
    args = ap.parse_args()
    if args.table:
        saved = json.loads(Path(args.table).read_text())
        print(report(saved["rows"], saved["n"], saved["rounds"], saved["machine"]))
        return
    variants = [
        VARIANTS[k]
        for k in os.environ.get("BENCH_VARIANTS", ",".join(VARIANTS)).split(",")
        if k.strip()
    ]
    peers = [p for p in os.environ.get("BENCH_PEERS", ",".join(PEERS)).split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            raise SystemExit(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
    STATE.mkdir(parents=True, exist_ok=True)
    out = STATE / time.strftime("results-%Y%m%d-%H%M%S.json")
    machine_line = machine()
    rows: list[Record] = []
    for rnd in range(1, ROUNDS + 1):
        for variant in variants:
            log(f"[round {rnd}/{ROUNDS}] {variant.label}")
            busy = wait_quiet()
            t0 = time.time()
            rows += asyncio.run(run_tasktrack(variant, N_TASKS, rnd))
            rows.append(record(variant.label, BUSY, 100 * busy, "%", rnd))
            log(f"  {time.time() - t0:.0f}s")
        for peer in peers:
            log(f"[round {rnd}/{ROUNDS}] {peer}")
            busy = wait_quiet()
            t0 = time.time()
            rows += run_peer(peer, N_TASKS, rnd)
            rows.append(record(peer, BUSY, 100 * busy, "%", rnd))
            log(f"  {time.time() - t0:.0f}s")
        saved = {"n": N_TASKS, "rounds": rnd, "machine": machine_line, "rows": rows}
        out.write_text(json.dumps(saved, indent=0))
    log(f"raw results: {out}")
    print(report(rows, N_TASKS, ROUNDS, machine_line))


if __name__ == "__main__":
    main()
