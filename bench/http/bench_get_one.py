"""GET one task by id over HTTP: tasktrack against a bare Starlette app reading the same row.

Run by hand, never in CI (see bench/README.md):

    .venv/bin/python bench/http/bench_get_one.py

Seeds a fresh SQLite tasktrack database with ``BENCH_N`` tasks (default 100,000) and one API
key, then for each variant starts a uvicorn server (``launch.py``: httptools, uvloop, access log
off, ``BENCH_WORKERS`` processes), warms it up, loads it with
``wrk -t<threads> -c<connections> -d<secs>s --latency -s random_id.lua`` (a random seeded id
per request) and stops it. Variants run in alternation for ``BENCH_ROUNDS`` rounds; medians
are reported. wrk runs on the same cores as the server.

Variants (``BENCH_VARIANTS``, comma-separated; default all):

  tasktrack-json                tasktrack, ``Accept: application/json``
  tasktrack-hal                 tasktrack, no Accept header (HAL, the contract's default)
  tasktrack-json-accesslog      tasktrack-json with the root logger at INFO, as the
                                ``tasktrack`` CLI sets it (the access log active)
  bare-starlette-sqlite         bare Starlette + sqlite3 + stdlib JSONResponse (bench-peers'
                                ``starlette-sqlite``): the target's baseline
  bare-starlette-sqlite-orjson  the same with orjson

Every request carries ``X-API-Key`` (bare apps ignore it). Before measuring, each server's
reply for one id is checked: JSON variants must return exactly tasktrack's bytes.

Knobs: BENCH_HTTP_SECS (10), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_WARMUP_SECS (2),
BENCH_ROUNDS (3), BENCH_WORKERS ("1"; "1,2" adds a two-process row), BENCH_N (100000),
BENCH_HTTP_PORT (8712), BENCH_STATE_DIR (/tmp/tasktrack-bench-get-one), BENCH_REUSE_DB=1
(keep a database an earlier run seeded with the same BENCH_N).

Output: one JSON line per variant and worker count on stdout, then a markdown table;
progress on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tasktrack.api.representation import task_fields
from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.service.identity import IdentityService
from tasktrack.storage.factory import open_stores
from tasktrack.storage.rows import INSERT_TASK, task_from_row, task_to_row

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

SECS = int(os.environ.get("BENCH_HTTP_SECS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
WARMUP_SECS = int(os.environ.get("BENCH_WARMUP_SECS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WORKERS = [int(w) for w in os.environ.get("BENCH_WORKERS", "1").split(",")]
N_TASKS = int(os.environ.get("BENCH_N", "100000"))
PORT = int(os.environ.get("BENCH_HTTP_PORT", "8712"))
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-get-one"))
REUSE_DB = os.environ.get("BENCH_REUSE_DB") == "1"
#: A measurement during which other processes used more CPU than this (in cores) is repeated.
MAX_FOREIGN = float(os.environ.get("BENCH_MAX_FOREIGN_CORES", "0.2"))
RETRIES = int(os.environ.get("BENCH_RETRIES", "2"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

DB_PATH = STATE / "get_one.db"
IDS_FILE = STATE / "ids.txt"
KEY_FILE = STATE / "api_key.txt"
BASELINE = "bare-starlette-sqlite"
BASELINE_ORJSON = "bare-starlette-sqlite-orjson"
UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3}

# The record bench-peers serves, so the bodies are the same size (~430 bytes).
STAMP = datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
CREATED_AT = 1694518620
DATA = {"projectId": "6500a1b2c3d4e5f6a7b8c9d0", "format": "csv", "from": "2023-11-01"}


@dataclass(frozen=True)
class Variant:
    name: str
    app: str
    accept: str | None = "application/json"
    access_log: bool = False


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("tasktrack-json", "tasktrack"),
        Variant("tasktrack-hal", "tasktrack", accept=None),
        Variant("tasktrack-json-accesslog", "tasktrack", access_log=True),
        Variant(BASELINE, BASELINE),
        Variant(BASELINE_ORJSON, BASELINE_ORJSON),
    )
}


@dataclass
class Runs:
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    #: Server CPU time (all its processes) per request, µs: robust to a busy machine.
    cpu_us: list[float] = field(default_factory=list)
    #: CPU other processes (not the server, not wrk) used during the measurement, in cores.
    foreign: list[float] = field(default_factory=list)
    socket_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str
    cpu_us: float
    foreign: float


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- seeding -------------------------------------------------------------------------------


async def _identity(url: str) -> tuple[str, str, str]:
    """Create the schema and an API key; returns (org id, user id, plaintext key)."""
    stores = await open_stores(url)
    try:
        identity = IdentityService(stores.identity)
        org, user = await identity.ensure_default()
        _key, plaintext = await identity.create_api_key(user.id, label="bench")
    finally:
        await stores.close()
    return org.id, user.id, plaintext


def seed(n: int) -> tuple[str, list[str]]:
    """A fresh database with ``n`` tasks; returns (API key, task ids)."""
    if REUSE_DB and DB_PATH.exists() and IDS_FILE.exists() and KEY_FILE.exists():
        ids = IDS_FILE.read_text().split()
        if len(ids) == n:
            log(f"reusing {DB_PATH} ({n} tasks)")
            return KEY_FILE.read_text().strip(), ids
    STATE.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    org_id, user_id, key = asyncio.run(_identity(f"sqlite:///{DB_PATH}"))
    tasks = [
        Task(
            id=new_id(CREATED_AT),
            name="export-conversations",
            data=DATA,
            status=Status.ACTIVE,
            org_id=org_id,
            created_by=user_id,
            created_at=CREATED_AT,
            current_step=3,
            total_step=10,
            last_run_at=STAMP,
            last_finished_at=STAMP,
            last_changed=CREATED_AT,
            last_changed_by=user_id,
            attempts=1,
        )
        for _ in range(n)
    ]
    con = sqlite3.connect(DB_PATH)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        with con:
            con.executemany(INSERT_TASK, (task_to_row(t) for t in tasks))
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = con.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        con.close()
    if count != n:
        raise SystemExit(f"seeded {count} tasks, expected {n}")
    ids = [t.id for t in tasks]
    IDS_FILE.write_text("\n".join(ids) + "\n")
    KEY_FILE.write_text(key + "\n")
    log(f"seeded {n} tasks into {DB_PATH} in {time.perf_counter() - t0:.1f}s")
    return key, ids


def expected_json(task_id: str) -> bytes:
    """tasktrack's application/json body for ``task_id``, straight from the row."""
    con = sqlite3.connect(DB_PATH)
    try:
        row = con.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    finally:
        con.close()
    return orjson.dumps(task_fields(task_from_row(row)))


# --- servers and load ----------------------------------------------------------------------


def headers_for(variant: Variant, key: str) -> dict[str, str]:
    headers = {"X-API-Key": key}
    if variant.accept is not None:
        headers["Accept"] = variant.accept
    return headers


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _port_in_use() -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


def start(
    variant: Variant, workers: int, url: str, headers: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start the server in its own process group; returns once it answers ``url`` with 200."""
    if _port_in_use():
        raise SystemExit(f"127.0.0.1:{PORT} is already in use; set BENCH_HTTP_PORT")
    env = dict(
        os.environ,
        BENCH_APP=variant.app,
        BENCH_PORT=str(PORT),
        BENCH_WORKERS=str(workers),
        BENCH_DB_PATH=str(DB_PATH),
        BENCH_ACCESS_LOG="1" if variant.access_log else "0",
        TASKTRACK_DATABASE_URL=f"sqlite:///{DB_PATH}",
    )
    stderr = open(STATE / "server.log", "wb")  # the child keeps its own copy
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "launch.py")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    stderr.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            status, _ = _get(url, headers)
            if status == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            tail = (STATE / "server.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"{variant.name}: server did not come up\n{tail}")
        time.sleep(0.1)
    if workers > 1:
        time.sleep(1.5)  # let every worker process finish importing and start-up
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left after 20 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers (worker processes) of our own group
    except ProcessLookupError:
        pass
    proc.wait(5)


def to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if m is None:
        raise ValueError(f"cannot parse wrk latency {text!r}")
    return float(m.group(1)) * UNIT_MS[m.group(2)]


def _busy_jiffies() -> int:
    """CPU time every process used so far (all cores), from the first line of /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return user + nice + system + irq + softirq + steal


def _group_jiffies(pgid: int) -> int:
    """CPU time of the live processes in process group ``pgid`` (the server and its workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == pgid:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(secs: int, headers: dict[str, str], server: int) -> Sample:
    """Load the server (process group ``server``) for ``secs`` seconds; parse wrk's report and
    account for the CPU the server, wrk and everything else used meanwhile."""
    cmd = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{secs}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd += ["-s", str(HERE / "random_id.lua"), f"http://127.0.0.1:{PORT}"]
    env = dict(os.environ, BENCH_IDS_FILE=str(IDS_FILE))
    busy0, server0, wrk0, t0 = _busy_jiffies(), _group_jiffies(server), _children_cpu(), time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    busy1, server1, wrk1, t1 = _busy_jiffies(), _group_jiffies(server), _children_cpu(), time.time()

    def find(pattern: str) -> str:
        m = re.search(pattern, out, re.M)
        if m is None:
            raise ValueError(f"wrk output lacks {pattern!r}:\n{out}")
        return m.group(1)

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    requests = int(find(r"^\s*(\d+) requests in"))
    server_cpu = (server1 - server0) / CLK_TCK
    foreign = ((busy1 - busy0) / CLK_TCK - server_cpu - (wrk1 - wrk0)) / (t1 - t0)
    return Sample(
        rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=to_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=to_ms(find(r"^\s+99%\s+(\S+)")),
        requests=requests,
        non_2xx=int(bad.group(1)) if bad else 0,
        socket_errors=errors.group(0) if errors else "",
        cpu_us=server_cpu / max(requests, 1) * 1e6,
        foreign=max(foreign, 0.0),
    )


def check_body(variant: Variant, body: bytes, expected: bytes) -> None:
    if variant.accept == "application/json":
        ok = body == expected
    else:  # HAL: the same fields, then _links
        ok = body.startswith(expected[:-1] + b',"_links":')
    if not ok:
        raise SystemExit(f"{variant.name}: unexpected body\n{body!r}\nexpected\n{expected!r}")


def measure(variant: Variant, workers: int, key: str, sample_id: str, expected: bytes) -> Sample:
    """One measurement; repeated (up to BENCH_RETRIES times, same server) while other processes
    used more than BENCH_MAX_FOREIGN_CORES of CPU. Keeps the quietest attempt."""
    headers = headers_for(variant, key)
    url = f"http://127.0.0.1:{PORT}/v2.0/tasks/{sample_id}"
    proc = start(variant, workers, url, headers)
    try:
        status, body = _get(url, headers)
        if status != 200:
            raise SystemExit(f"{variant.name}: HTTP {status}: {body[:300]!r}")
        check_body(variant, body, expected)
        wrk(WARMUP_SECS, headers, proc.pid)
        best = wrk(SECS, headers, proc.pid)
        for _ in range(RETRIES):
            if best.foreign <= MAX_FOREIGN:
                break
            log(f"  {variant.name}: other processes used {best.foreign:.2f} cores; again")
            sample = wrk(SECS, headers, proc.pid)
            if sample.foreign < best.foreign:
                best = sample
    finally:
        stop(proc)
    if best.non_2xx:
        raise SystemExit(f"{variant.name} x{workers}: {best.non_2xx} non-2xx responses")
    return best


# --- report --------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "--no-optional-locks", "diff", "--quiet", "HEAD", "--", "tasktrack"],
        cwd=REPO,
        capture_output=True,
    ).returncode
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "commit": commit + (" (tasktrack/ has uncommitted changes)" if dirty else ""),
    }


def _pct(x: float) -> str:
    return f"{x:.0%}"


def table(results: dict[tuple[str, int], Runs], names: list[str]) -> str:
    """Medians per variant. Ratios: of the medians, then (in brackets) the median of the
    per-round ratios, each round's pair measured minutes apart at most. The CPU ratio is the
    baseline's server CPU per request over this variant's: the least noise-prone comparison."""
    lines = [
        "| variant | workers | req/s | p50 ms | p99 ms | server CPU µs/req | req/s vs bare stdlib "
        "| req/s vs bare orjson | CPU/req: bare stdlib ÷ this | req/s per round "
        "| other CPU load per round (cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    med = statistics.median
    for workers in WORKERS:
        base = results.get((BASELINE, workers))
        base_orjson = results.get((BASELINE_ORJSON, workers))
        for name in names:
            runs = results[(name, workers)]
            rps, cpu = med(runs.rps), med(runs.cpu_us)

            def ratio(ref: Runs | None, runs: Runs = runs, rps: float = rps) -> str:
                if ref is None:
                    return "-"
                paired = med(a / b for a, b in zip(runs.rps, ref.rps, strict=True))
                return f"{_pct(rps / med(ref.rps))} ({_pct(paired)})"

            lines.append(
                f"| {name} | {workers} | {rps:,.0f} | {med(runs.p50_ms):.2f} "
                f"| {med(runs.p99_ms):.2f} | {cpu:.0f} | {ratio(base)} | {ratio(base_orjson)} "
                f"| {_pct(med(base.cpu_us) / cpu) if base else '-'} "
                f"| {', '.join(f'{r:,.0f}' for r in runs.rps)} "
                f"| {', '.join(f'{f:.2f}' for f in runs.foreign)} |"
            )
    return "\n".join(lines)


def main() -> None:
    names = os.environ.get("BENCH_VARIANTS", ",".join(VARIANTS)).split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    info = machine()
    log(f"machine: {info}")
    key, ids = seed(N_TASKS)
    sample_id = ids[len(ids) // 2]
    expected = expected_json(sample_id)
    results: dict[tuple[str, int], Runs] = {(n, w): Runs() for n in names for w in WORKERS}
    for round_no in range(1, ROUNDS + 1):
        for workers in WORKERS:
            for name in names:
                sample = measure(VARIANTS[name], workers, key, sample_id, expected)
                runs = results[(name, workers)]
                runs.rps.append(sample.rps)
                runs.p50_ms.append(sample.p50_ms)
                runs.p99_ms.append(sample.p99_ms)
                runs.cpu_us.append(sample.cpu_us)
                runs.foreign.append(sample.foreign)
                if sample.socket_errors:
                    runs.socket_errors.append(sample.socket_errors)
                log(
                    f"round {round_no}/{ROUNDS} {name} x{workers}: {sample.rps:,.0f} req/s "
                    f"p50 {sample.p50_ms:.2f} ms p99 {sample.p99_ms:.2f} ms, "
                    f"server {sample.cpu_us:.0f} µs CPU/req, others {sample.foreign:.2f} cores "
                    f"{sample.socket_errors}"
                )
    med = statistics.median
    for (name, workers), runs in results.items():
        print(
            json.dumps(
                {
                    "variant": name,
                    "workers": workers,
                    "rps": round(med(runs.rps), 1),
                    "p50_ms": round(med(runs.p50_ms), 3),
                    "p99_ms": round(med(runs.p99_ms), 3),
                    "server_cpu_us_per_req": round(med(runs.cpu_us), 1),
                    "rounds": {
                        "rps": runs.rps,
                        "p50_ms": runs.p50_ms,
                        "p99_ms": runs.p99_ms,
                        "server_cpu_us_per_req": [round(c, 1) for c in runs.cpu_us],
                        "other_cpu_cores": [round(f, 2) for f in runs.foreign],
                    },
                    "socket_errors": runs.socket_errors,
                    "wrk": f"-t{THREADS} -c{CONNECTIONS} -d{SECS}s",
                    "tasks": N_TASKS,
                }
            ),
            flush=True,
        )
    print()
    print(
        f"Machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
        f"commit {info['commit']}; wrk -t{THREADS} -c{CONNECTIONS} -d{SECS}s, "
        f"medians of {ROUNDS} rounds, {N_TASKS:,} tasks."
    )
    print()
    print(table(results, names))


if __name__ == "__main__":
    main()
