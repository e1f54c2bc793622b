"""POST /v2.0/tasks over HTTP at 32 connections, on SQLite and PostgreSQL (issue 15, point 4).

Run by hand, never in CI (see bench/README.md, "Issue 15"):

    .venv/bin/python bench/http/bench_create.py
    BENCH_BEFORE_SRC=/tmp/before .venv/bin/python bench/http/bench_create.py   # + main's code

Each measurement gets a fresh database (a SQLite file with the default ``synchronous=FULL``,
or a new PostgreSQL database on 127.0.0.1 with ``synchronous_commit=on``), an API key made by
the code under test, and the real ``python -m tasktrack serve --no-worker`` (uvicorn as the CLI
configures it). wrk (``post_task.lua``: ``{"name": "demo.sleep", "data": {"seconds": 0}}``,
``X-API-Key``) loads it for ``BENCH_HTTP_SECS`` after a warm-up; the server's CPU per create
comes from /proc. Sides alternate within each round; medians over ``BENCH_ROUNDS``.

Knobs: BENCH_BACKENDS ("sqlite,postgres"), BENCH_HTTP_SECS (10), BENCH_WARMUP_SECS (2),
BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_HTTP_PORT (8794), BENCH_PG_ADMIN
(postgresql://postgres@127.0.0.1:5432/postgres), BENCH_PYSPY=path (record a py-spy profile
of the first "after" server per backend into path-<backend>.txt; py-spy in the venv).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_get_one as base  # noqa: E402
import psycopg  # noqa: E402

PORT = int(os.environ.get("BENCH_HTTP_PORT", "8794"))
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite,postgres").split(",")
BEFORE_SRC = os.environ.get("BENCH_BEFORE_SRC")
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PYSPY = os.environ.get("BENCH_PYSPY")
SEED = (
    "import asyncio, sys\n"
    "from tasktrack.service.identity import IdentityService\n"
    "from tasktrack.storage.factory import open_stores\n"
    "async def main():\n"
    "    stores = await open_stores(sys.argv[1])\n"
    "    identity = IdentityService(stores.identity)\n"
    "    _, user = await identity.ensure_default()\n"
    "    _, key = await identity.create_api_key(user.id)\n"
    "    await stores.close()\n"
    "    print(key)\n"
    "asyncio.run(main())\n"
)


def _env(side: str, url: str) -> dict[str, str]:
    env = dict(os.environ, TASKTRACK_DATABASE_URL=url, TASKTRACK_LOG_LEVEL="warning")
    env.pop("PYTHONPATH", None)
    if side == "before":
        assert BEFORE_SRC is not None
        env["PYTHONPATH"] = BEFORE_SRC
    return env


def database(backend: str, n: int, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir}/create-{n}.db"
    name = f"fast_bench_create_{os.getpid()}_{n}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop(url: str) -> None:
    if url.startswith("postgres"):
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def serve(side: str, url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = _env(side, url)
    seeded = subprocess.run(
        [sys.executable, "-c", SEED, url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=workdir,  # not this checkout: "-c" puts the working directory first on sys.path
    )
    key = seeded.stdout.strip().splitlines()[-1]
    command = [sys.executable, "-m", "tasktrack", "serve", "--no-worker", "--host", "127.0.0.1"]
    return launch([*command, "--port", str(PORT)], env, workdir / "server.log"), key


def launch(
    command: list[str], env: dict[str, str] | None, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start a server (its own process group, output to ``log_path``) and wait until its
    ``/health`` answers 200 on :data:`PORT`."""
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=log_path.parent,
    )
    log.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as reply:
                if reply.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            base.stop(proc)
            raise SystemExit(log_path.read_text()[-3000:])
        time.sleep(0.1)


def wrk(secs: int, key: str, pgid: int) -> base.Sample:
    """bench_get_one's wrk driver, pointed at the create script and this port."""
    saved = base.PORT, base.HERE
    base.PORT = PORT
    lua = Path(tempfile.mkdtemp()) / "random_id.lua"
    shutil.copyfile(HERE / "post_task.lua", lua)
    base.HERE = lua.parent  # wrk() runs HERE / "random_id.lua"
    try:
        return base.wrk(secs, {"X-API-Key": key, "Content-Type": "application/json"}, pgid)
    finally:
        base.PORT, base.HERE = saved
        shutil.rmtree(lua.parent)


def pyspy(pid: int, path: str, secs: int) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [str(spy), "record", "-p", str(pid), "-d", str(secs), "-f", "raw", "-o", path, "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(backend: str, side: str, n: int, workdir: Path, profile: bool) -> base.Sample:
    url = database(backend, n, workdir)
    try:
        proc, key = serve(side, url, workdir)
        try:
            wrk(base.WARMUP_SECS, key, proc.pid)
            spy = pyspy(proc.pid, f"{PYSPY}-{backend}.txt", base.SECS) if profile else None
            sample = wrk(base.SECS, key, proc.pid)
            if spy is not None:
                spy.wait(60)
        finally:
            base.stop(proc)
    finally:
        drop(url)
    if sample.non_2xx or sample.socket_errors:
        raise SystemExit(f"{backend} {side}: {sample.non_2xx} non-2xx, {sample.socket_errors}")
    return sample


def main() -> None:
    info = base.machine()
    sides = ["after", *(["before"] if BEFORE_SRC else [])]
    runs = {(b, s): base.Runs() for b in BACKENDS for s in sides}
    loads: list[float] = []
    profiled: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        n = 0
        for round_no in range(1, base.ROUNDS + 1):
            loads.append(os.getloadavg()[0])
            for backend in BACKENDS:
                for side in sides:
                    n += 1
                    profile = bool(PYSPY) and side == "after" and backend not in profiled
                    profiled.add(backend) if profile else None
                    s = measure(backend, side, n, Path(tmp), profile)
                    r = runs[(backend, side)]
                    r.rps.append(s.rps)
                    r.p50_ms.append(s.p50_ms)
                    r.p99_ms.append(s.p99_ms)
                    r.cpu_us.append(s.cpu_us)
                    r.foreign.append(s.foreign)
                    base.log(
                        f"round {round_no} {backend} {side}: {s.rps:,.0f} creates/s p50 "
                        f"{s.p50_ms:.2f} p99 {s.p99_ms:.2f} ms, {s.cpu_us:.0f} µs server CPU "
                        f"per create, others {s.foreign:.2f} cores"
                    )
    print(report(info, runs, loads))


def report(info: dict[str, str], runs: dict[tuple[str, str], base.Runs], loads: list[float]) -> str:
    med = statistics.median
    lines = [
        f"Machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, commit "
        f"{info['commit']}; wrk -t{base.THREADS} -c{base.CONNECTIONS} -d{base.SECS}s, "
        f"{base.ROUNDS} rounds; 1-min load at round starts: "
        + ", ".join(f"{x:.1f}" for x in loads),
        "",
        "| database | code | creates/s | p50 ms | p99 ms | server CPU µs/create "
        "| creates/s per round | other CPU (cores) |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for (backend, side), r in runs.items():
        lines.append(
            f"| {backend} | {side} | {med(r.rps):,.0f} | {med(r.p50_ms):.2f} "
            f"| {med(r.p99_ms):.2f} | {med(r.cpu_us):.0f} | "
            + ", ".join(f"{x:,.0f}" for x in r.rps)
            + " | "
            + ", ".join(f"{x:.2f}" for x in r.foreign)
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
