"""The floor for issue 15's point 4: how fast, and with what tail, a *bare* Starlette app creates
rows over HTTP on this machine, beside tasktrack in the same run (by hand, never in CI).

    .venv/bin/python bench/http/bare_create.py

The bare app (``bare-create``) is what a minimal service would do: uvicorn as tasktrack's CLI
runs it, one POST route, ``orjson`` parsing of the body, one INSERT of (id, name, data,
created) into a SQLite file in WAL at ``synchronous=FULL`` and a commit per request on the
event loop's thread, a 201 with a small JSON body; no authentication, no validation beyond the
JSON parse, no metrics, no group commit. tasktrack is ``serve --no-worker`` on a fresh SQLite
file (as ``bench_create.py``). Both are loaded by the same wrk script (``post_task.lua``, 32
connections, ``BENCH_HTTP_SECS`` each after a warm-up), sides alternated each round.

Knobs: BENCH_ROUNDS (3), BENCH_HTTP_SECS (10), BENCH_WARMUP_SECS (2), BENCH_HTTP_PORT (8794).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_create as create  # noqa: E402
import bench_get_one as base  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECS = int(os.environ.get("BENCH_HTTP_SECS", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP_SECS", "2"))

BARE_APP = """
import sqlite3, sys, uuid, time
import orjson, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

con = sqlite3.connect(sys.argv[1], isolation_level=None, check_same_thread=False)
con.execute("PRAGMA journal_mode = WAL")
con.execute("PRAGMA synchronous = FULL")
con.execute("CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
            "data TEXT NOT NULL, created REAL NOT NULL)")

async def create(request):
    body = orjson.loads(await request.body())
    task_id = uuid.uuid4().hex[:24]
    con.execute("INSERT INTO tasks VALUES (?, ?, ?, ?)",
                (task_id, body["name"], orjson.dumps(body.get("data", {})).decode(), time.time()))
    return Response(orjson.dumps({"_id": task_id, "name": body["name"], "status": "queued"}),
                    status_code=201, media_type="application/json")

async def health(request):
    return Response(b"ok")

app = Starlette(routes=[Route("/v2.0/tasks", create, methods=["POST"]),
                        Route("/health", health)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False,
            log_level="warning", server_header=False)
"""


def serve_bare(workdir: Path, n: int) -> subprocess.Popen[bytes]:
    db = workdir / f"bare-{n}.db"
    command = [sys.executable, "-c", BARE_APP, str(db), str(create.PORT)]
    return create.launch(command, None, workdir / "bare.log")


def measure(side: str, n: int, workdir: Path) -> base.Sample:
    if side == "bare":
        proc, key = serve_bare(workdir, n), "unused"
    else:
        url = create.database("sqlite", n, workdir)
        proc, key = create.serve("after", url, workdir)
    try:
        create.wrk(WARMUP, key, proc.pid)
        return create.wrk(SECS, key, proc.pid)
    finally:
        base.stop(proc)


def main() -> None:
    results: dict[str, list[base.Sample]] = {"bare": [], "tasktrack": []}
    with tempfile.TemporaryDirectory() as tmp:
        n = 0
        for rnd in range(1, ROUNDS + 1):
            order = ("bare", "tasktrack") if rnd % 2 else ("tasktrack", "bare")
            for side in order:
                n += 1
                s = measure(side, n, Path(tmp))
                results[side].append(s)
                print(
                    f"round {rnd} {side}: {s.rps:,.0f} creates/s p50 {s.p50_ms:.2f} "
                    f"p99 {s.p99_ms:.2f} ms, {s.cpu_us:.0f} µs server CPU per create, "
                    f"non-2xx {s.non_2xx}",
                    flush=True,
                )
    print(f"\n{os.cpu_count()} cores; wrk -c{base.CONNECTIONS} -d{SECS}s, {ROUNDS} rounds\n")
    print("| app | creates/s per round | p50 ms per round | p99 ms per round | µs CPU/create |")
    print("|---|---|---|---|---|")
    for side, samples in results.items():
        print(
            f"| {side} | {', '.join(f'{s.rps:,.0f}' for s in samples)} | "
            f"{', '.join(f'{s.p50_ms:.1f}' for s in samples)} | "
            f"{', '.join(f'{s.p99_ms:.1f}' for s in samples)} | "
            f"{', '.join(f'{s.cpu_us:.0f}' for s in samples)} |"
        )


if __name__ == "__main__":
    main()
