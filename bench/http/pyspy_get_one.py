"""Sample a live GET-one server with py-spy while wrk loads it; print where its time goes.

Run by hand after ``bench_get_one.py`` has seeded the database (same ``BENCH_*`` knobs), with
py-spy installed (``.venv/bin/pip install py-spy``; not a project dependency):

    .venv/bin/python bench/http/pyspy_get_one.py [variant ...]   # default: tasktrack-json
    .venv/bin/python bench/http/pyspy_get_one.py --in-process [SECS]

For each variant: start the server (one worker), warm up, then run wrk for BENCH_HTTP_SECS
while ``py-spy record --format raw`` samples the server's non-idle Python stacks (blocking
mode: py-spy pauses the process for each sample, which slows it but keeps stacks whole;
``--nonblocking`` tears coroutine stacks and misattributes).
``--in-process`` samples ``profile_get_one.py --spin`` instead: tasktrack JSON requests
through the ASGI app with no server, sockets or wrk, so nothing but the app is measured.

Each sample goes to the first component in BY_CALLER with a frame on the sample's stack, so a
component includes what it calls (the SQLite call, Starlette's URL parsing, the strftime).
The raw stacks are kept in ``$BENCH_STATE_DIR/pyspy-*.txt`` (collapsed-stack format, for
flamegraph tools).
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_get_one as bench

PY_SPY = str(Path(sys.executable).with_name("py-spy"))
RATE = int(os.environ.get("BENCH_PYSPY_RATE", "400"))
_FRAME = re.compile(r"(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

#: Components by a frame anywhere on the stack, most specific first: a sample goes to the first
#: that matches (so a component includes what it calls: the SQLite call, Starlette's URL).
BY_CALLER: tuple[tuple[str, str], ...] = (
    ("_prefix (tasktrack/api/routes/tasks.py", "_prefix: request.url"),
    ("authenticate_api_key (tasktrack/", "authentication: API key"),
    ("ApiContext.authenticate (tasktrack/", "authentication: API key"),
    ("TaskService.get (tasktrack/", "store read + Task"),
    ("task_fields (tasktrack/", "representation: task_fields"),
    ("Renderer.task (tasktrack/", "rendering: orjson"),
    ("_etag (tasktrack/", "Response + ETag"),
    ("Response.__init__ (starlette/", "Response + ETag"),
    ("_renderer (tasktrack/", "negotiation: Accept"),
    ("query_params (starlette/", "get_task: query_params (projectId, wait)"),
    ("_seen_version (tasktrack/", "get_task: If-None-Match"),
    ("headers (starlette/requests.py", "get_task: request.headers"),
    ("get_task (tasktrack/", "get_task: rest of the handler"),
    ("guarded.<locals>.endpoint (tasktrack/", "get_task: rest of the handler"),
    ("Response.__call__ (starlette/", "Starlette: sending the Response"),
    ("request_response.<locals>.app (starlette/", "Starlette: Request + endpoint call"),
    ("Route.matches (starlette/", "Starlette: routing"),
    ("Router.app (starlette/", "Starlette: routing"),
    ("route_label (tasktrack/", "EdgeMiddleware: metrics"),
    ("(prometheus_client/", "EdgeMiddleware: metrics"),
    ("refusal (tasktrack/", "EdgeMiddleware: failed-auth limiter"),
    ("choose (tasktrack/", "EdgeMiddleware: request id"),
    ("EdgeMiddleware.__call__ (tasktrack/", "EdgeMiddleware: the rest"),
    ("(apps.py:", "bare handler (apps.py)"),
    ("(starlette/", "Starlette: middleware stack, other"),
    ("(uvicorn/", "uvicorn: httptools protocol, socket writes"),
)


def component(stack: list[str]) -> str:
    """The component of one sample (see BY_CALLER); else the event loop."""
    for needle, name in BY_CALLER:
        if any(needle in frame for frame in stack):
            return name
    return "event loop, stdlib"


def summarise(raw: Path, title: str, cpu_us: float | None) -> None:
    """Print a markdown table of components; µs if the CPU per request is known."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        # Other threads (the SQLite writer waiting on its queue) show up as busy in blocking
        # mode; a GET-one request runs on the event loop's thread only.
        if stack and "Thread._bootstrap (threading.py" not in stack:
            counts[component(stack.split(";"))] += int(count)
    total = sum(counts.values())
    print(f"\n{title}: {total} samples")
    print("| component | share of samples | ~ µs per request |")
    print("|---|---|---|")
    for comp, n in counts.most_common():
        us = f"{cpu_us * n / total:.1f}" if cpu_us else "-"
        print(f"| {comp} | {n / total:.1%} | {us} |")


def record(name: str, key: str, sample_id: str, expected: bytes) -> None:
    variant = bench.VARIANTS[name]
    headers = bench.headers_for(variant, key)
    url = f"http://127.0.0.1:{bench.PORT}/v2.0/tasks/{sample_id}"
    out = bench.STATE / f"pyspy-{name}.txt"
    proc = bench.start(variant, 1, url, headers)
    try:
        bench.check_body(variant, bench._get(url, headers)[1], expected)
        bench.wrk(bench.WARMUP_SECS, headers, proc.pid)
        result: list[bench.Sample] = []
        load = threading.Thread(
            target=lambda: result.append(bench.wrk(bench.SECS + 2, headers, proc.pid))
        )
        load.start()
        try:
            spy = [PY_SPY, "record", "--pid", str(proc.pid), "--duration", str(bench.SECS)]
            spy += ["--rate", str(RATE), "--format", "raw", "--output", str(out)]
            subprocess.run(spy, check=True, capture_output=True)
        finally:
            load.join()
    finally:
        bench.stop(proc)
    sample = result[0] if result else None
    title = f"{name} (live server, {RATE} samples/s over {bench.SECS}s)"
    if sample is not None:
        title += (
            f"; under py-spy {sample.rps:,.0f} req/s, server {sample.cpu_us:.0f} µs CPU/req "
            f"(others {sample.foreign:.2f} cores)"
        )
    summarise(out, title, sample.cpu_us if sample else None)


def in_process(secs: float) -> None:
    """py-spy over profile_get_one.py --spin: tasktrack JSON requests without a server."""
    out = bench.STATE / "pyspy-in-process.txt"
    script = str(Path(__file__).resolve().with_name("profile_get_one.py"))
    spy = [PY_SPY, "record", "--rate", "1000", "--format", "raw", "-o", str(out)]
    spy.append("--")
    done = subprocess.run(
        [*spy, sys.executable, script, "--spin", str(secs)],
        check=True,
        capture_output=True,
        text=True,
    )
    m = re.search(r"(\d+) requests in", done.stdout)
    per_req = secs / int(m.group(1)) * 1e6 if m else None
    raw = out.read_text().splitlines()
    # keep only samples taken inside a request (not start-up)
    out.write_text("\n".join(line for line in raw if "asgi_call.<locals>.call" in line) + "\n")
    title = f"tasktrack-json in process ({per_req or 0:.0f} µs wall per request under py-spy)"
    summarise(out, title, per_req)


def main() -> None:
    if sys.argv[1:2] == ["--in-process"]:
        in_process(float(sys.argv[2]) if len(sys.argv) > 2 else 20.0)
        return
    names = sys.argv[1:] or ["tasktrack-json"]
    if not bench.KEY_FILE.exists():
        raise SystemExit("no seeded database: run bench/http/bench_get_one.py first")
    key = bench.KEY_FILE.read_text().strip()
    ids = bench.IDS_FILE.read_text().split()
    sample_id = ids[len(ids) // 2]
    expected = bench.expected_json(sample_id)
    for name in names:
        record(name, key, sample_id, expected)


if __name__ == "__main__":
    main()
