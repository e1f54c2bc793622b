"""Where a GET-one request's time goes inside tasktrack, without HTTP (run by hand).

Uses the database ``bench_get_one.py`` seeded (run that first; ``BENCH_STATE_DIR`` as there).
On one uvloop event loop, with a random seeded id per call:

1. times each piece of the GET-one path on its own (authentication and its parts, the store
   read and its parts, representation, rendering, negotiation, the Response object);
2. times whole requests through each ASGI app, called directly with a hand-made scope (no
   server, no sockets): tasktrack JSON and HAL, tasktrack with its access log at
   INFO into a null stream, and the bare Starlette apps;
3. with ``--cprofile``, runs tasktrack JSON requests under cProfile and prints the top
   functions.

    .venv/bin/python bench/http/profile_get_one.py [--cprofile] [--n 20000]

Numbers are microseconds of this thread's CPU time per call (``time.thread_time``, so other
processes on a busy machine inflate them less), median of 5 batches of ``--n`` calls.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message

from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.renderers import RENDERERS
from tasktrack.api.representation import task_fields
from tasktrack.domain.identity import Principal
from tasktrack.domain.ids import is_valid_id
from tasktrack.domain.listing import Scope
from tasktrack.service.identity import _KEY, IdentityService, _digest
from tasktrack.service.tasks import TaskService
from tasktrack.storage.factory import open_stores
from tasktrack.storage.rows import task_from_row
from tasktrack.storage.sqlite.store import SQLiteStores

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-get-one"))
DB_PATH = STATE / "get_one.db"
BATCHES = 5


def us_per_call(run_batch: Callable[[int], float], n: int) -> float:
    """Median over batches of (seconds per batch / n), in µs."""
    run_batch(max(n // 10, 100))  # warm-up
    return statistics.median(run_batch(n) for _ in range(BATCHES)) / n * 1e6


def sync_batch(fn: Callable[[str], object], ids: list[str]) -> Callable[[int], float]:
    def run(n: int) -> float:
        picks = random.choices(ids, k=n)
        t0 = time.thread_time()
        for task_id in picks:
            fn(task_id)
        return time.thread_time() - t0

    return run


async def async_us(fn: Callable[[str], Awaitable[object]], ids: list[str], n: int) -> float:
    async def batch(k: int) -> float:
        picks = random.choices(ids, k=k)
        t0 = time.thread_time()
        for task_id in picks:
            await fn(task_id)
        return time.thread_time() - t0

    await batch(max(n // 10, 100))
    return statistics.median([await batch(n) for _ in range(BATCHES)]) / n * 1e6


def http_scope(
    task_id: str, headers: list[tuple[bytes, bytes]], query: bytes = b""
) -> dict[str, Any]:
    path = f"/v2.0/tasks/{task_id}"
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8712"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8712),
        "state": {},
    }


def asgi_call(
    app: ASGIApp, headers: list[tuple[bytes, bytes]], query: bytes = b""
) -> Callable[[str], Awaitable[None]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call(task_id: str) -> None:
        status = 0

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(http_scope(task_id, headers, query), receive, send)
        if status != 200:
            raise SystemExit(f"HTTP {status} for {task_id}")

    return call


def row(label: str, value: float, total: float | None = None) -> None:
    share = f"  {value / total:6.1%}" if total else ""
    print(f"  {label:<58} {value:8.2f} µs{share}")


async def pieces(ids: list[str], key: str, n: int) -> None:
    stores = await open_stores(f"sqlite:///{DB_PATH}", upgrade=False)
    assert isinstance(stores, SQLiteStores)
    try:
        identity = IdentityService(stores.identity)
        principal = await identity.authenticate_api_key(key)
        service = TaskService(stores.tasks, registry=None)  # type: ignore[arg-type]
        scope = Scope(principal.org_id, None)
        con = stores.db.connection()
        m = _KEY.match(key)
        assert m is not None
        key_id, secret = m.group(1), m.group(2)
        row0 = con.execute("SELECT * FROM tasks WHERE id = ?", (ids[0],)).fetchone()
        task0 = task_from_row(row0)
        fields0 = task_fields(task0)
        json_r, hal_r = RENDERERS["application/json"], RENDERERS["application/hal+json"]

        async def auth(_: str) -> Principal:
            return await identity.authenticate_api_key(key)

        async def get_key(_: str) -> object:
            return await stores.identity.get_api_key(key_id)

        async def store_get(task_id: str) -> object:
            return await stores.tasks.get(task_id, scope)

        async def service_get(task_id: str) -> object:
            return await service.get(principal, task_id, None)

        print("pieces of the GET-one path (µs per call):")
        row(
            "authenticate_api_key (regex + key row + sha256 + compare)",
            await async_us(auth, ids, n),
        )
        row(
            "  identity store get_api_key (SQLite PK read + ApiKey)",
            await async_us(get_key, ids, n),
        )
        row("  sha256 of the secret", us_per_call(sync_batch(lambda _: _digest(secret), ids), n))
        row("TaskService.get (id check + store.get)", await async_us(service_get, ids, n))
        row(
            "  SQLiteTaskStore.get (SELECT * + task_from_row + scope)",
            await async_us(store_get, ids, n),
        )
        row(
            "    SELECT * ... WHERE id = ? fetchone (21 columns)",
            us_per_call(
                sync_batch(
                    lambda i: con.execute("SELECT * FROM tasks WHERE id = ?", (i,)).fetchone(), ids
                ),
                n,
            ),
        )
        row(
            "    task_from_row (orjson.loads, Status, 2 datetimes, Task)",
            us_per_call(sync_batch(lambda _: task_from_row(row0), ids), n),
        )
        row("  is_valid_id (regex)", us_per_call(sync_batch(is_valid_id, ids), n))
        row(
            "task_fields (dict + 2 strftime)",
            us_per_call(sync_batch(lambda _: task_fields(task0), ids), n),
        )
        row(
            "JsonRenderer.task (orjson.dumps)",
            us_per_call(sync_batch(lambda _: json_r.task(fields0, "/v2.0/tasks/x"), ids), n),
        )
        row(
            "HalRenderer.task (orjson.dumps + splice)",
            us_per_call(sync_batch(lambda _: hal_r.task(fields0, "/v2.0/tasks/x"), ids), n),
        )
        choose_media_type.cache_clear()
        row(
            "choose_media_type('application/json') (lru-cached)",
            us_per_call(sync_batch(lambda _: choose_media_type("application/json"), ids), n),
        )
        row(
            "choose_media_type uncached",
            us_per_call(
                sync_batch(lambda _: choose_media_type.__wrapped__("application/json"), ids), n
            ),
        )
        body = json_r.task(fields0, "")
        row(
            "Response(body, media_type, headers={ETag})",
            us_per_call(
                sync_batch(
                    lambda _: Response(body, 200, {"ETag": 'W/"x.1"'}, "application/json"), ids
                ),
                n,
            ),
        )
        row(
            "Response(body, media_type) without extra headers",
            us_per_call(
                sync_batch(lambda _: Response(body, 200, None, "application/json"), ids), n
            ),
        )
        req = Request(
            http_scope(ids[0], [(b"x-api-key", key.encode()), (b"accept", b"application/json")])
        )
        row(
            "request.headers.get x2 + query_params.get",
            us_per_call(
                sync_batch(
                    lambda _: (
                        req.headers.get("x-api-key"),
                        req.headers.get("accept"),
                        req.query_params.get("projectId"),
                    ),
                    ids,
                ),
                n,
            ),
        )
        print()
    finally:
        await stores.close()


async def whole(ids: list[str], key: str, n: int, profile: bool) -> None:
    os.environ.setdefault("BENCH_APP", "bare-starlette-sqlite")
    os.environ["BENCH_DB_PATH"] = str(DB_PATH)
    os.environ["TASKTRACK_DATABASE_URL"] = f"sqlite:///{DB_PATH}"
    sys.path.insert(0, str(HERE))
    import apps

    api_key = (b"x-api-key", key.encode())
    accept_json = (b"accept", b"application/json")
    tasktrack = apps.build("tasktrack")
    assert isinstance(tasktrack, Starlette)
    access = logging.getLogger("tasktrack.access")
    print("whole requests through the ASGI app, no server (µs per request):")
    async with tasktrack.router.lifespan_context(tasktrack):
        tt_json = await async_us(asgi_call(tasktrack, [api_key, accept_json]), ids, n)
        row("tasktrack, Accept: application/json", tt_json)
        row("tasktrack, no Accept (HAL)", await async_us(asgi_call(tasktrack, [api_key]), ids, n))
        by_query = asgi_call(tasktrack, [accept_json], b"api_key=" + key.encode())
        row("tasktrack JSON, ?api_key= instead of the header", await async_us(by_query, ids, n))
        handler = logging.StreamHandler(io.StringIO())
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
        try:
            row(
                "tasktrack JSON, access log at INFO (to a StringIO handler)",
                await async_us(asgi_call(tasktrack, [api_key, accept_json]), ids, n),
            )
        finally:
            access.removeHandler(handler)
            access.setLevel(logging.NOTSET)
            access.propagate = True
        inner = tasktrack.middleware_stack
        assert inner is not None
        # ServerError -> Edge -> fast path -> ...: skip Edge (request id, limiter, metrics) to
        # price it with the access log at WARNING.
        access_mw = inner.app  # type: ignore[attr-defined]
        inner.app = access_mw.app  # type: ignore[attr-defined]
        try:
            row(
                "tasktrack JSON without EdgeMiddleware in the stack",
                await async_us(asgi_call(tasktrack, [api_key, accept_json]), ids, n),
            )
        finally:
            inner.app = access_mw  # type: ignore[attr-defined]
        if profile:
            call = asgi_call(tasktrack, [api_key, accept_json])
            prof = cProfile.Profile()
            picks = random.choices(ids, k=n)
            prof.enable()
            for task_id in picks:
                await call(task_id)
            prof.disable()
    for name in ("bare-starlette-sqlite", "bare-starlette-sqlite-orjson"):
        bare = apps.build(name)
        row(name, await async_us(asgi_call(bare, [api_key, accept_json]), ids, n))
    print()
    if profile:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
        print(out.getvalue())


async def spin(ids: list[str], key: str, secs: float) -> None:
    os.environ.setdefault("BENCH_APP", "tasktrack")
    os.environ["BENCH_DB_PATH"] = str(DB_PATH)
    os.environ["TASKTRACK_DATABASE_URL"] = f"sqlite:///{DB_PATH}"
    sys.path.insert(0, str(HERE))
    import apps

    app = apps.build("tasktrack")
    assert isinstance(app, Starlette)
    call = asgi_call(app, [(b"x-api-key", key.encode()), (b"accept", b"application/json")])
    async with app.router.lifespan_context(app):
        end = time.monotonic() + secs
        done = 0
        while time.monotonic() < end:
            for task_id in random.choices(ids, k=1000):
                await call(task_id)
            done += 1000
    print(f"{done} requests in {secs:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20_000, help="calls per batch")
    parser.add_argument("--cprofile", action="store_true", help="cProfile tasktrack JSON")
    parser.add_argument(
        "--spin",
        type=float,
        metavar="SECS",
        help="only run tasktrack JSON requests for SECS seconds (for a sampling profiler: "
        "py-spy record -r 1000 -f raw -o out.txt -- python profile_get_one.py --spin 20)",
    )
    args = parser.parse_args()
    if not DB_PATH.exists():
        raise SystemExit(f"{DB_PATH} missing: run bench/http/bench_get_one.py first")
    ids = (STATE / "ids.txt").read_text().split()
    key = (STATE / "api_key.txt").read_text().strip()

    async def run() -> None:
        if args.spin:
            await spin(ids, key, args.spin)
            return
        await pieces(ids, key, args.n)
        await whole(ids, key, args.n, args.cprofile)

    uvloop.run(run())


if __name__ == "__main__":
    main()
