"""What the no-live-worker check costs ``POST /tasks`` (issue 16; run by hand).

Calls tasktrack's ASGI app in process (httpx's ASGI transport: no sockets, so the check is
not drowned in network time) on a SQLite file with ``synchronous=OFF`` (no fsync, for the
same reason), with a registry holding ``--workers`` rows. Batches of ``--n`` creates
alternate between three variants, and the figure is the median over ``--batches`` rounds of
this thread's CPU time per create:

  no-check   the check replaced by "served" (what a create cost before issue 16)
  cached     as shipped: the live-type set read at most every 2 s (LIVE_TYPES_SECONDS)
  uncached   the cache off (a registry read per create): what the cache saves

    .venv/bin/python bench/http/bench_create_warning.py [--n 500] [--batches 7] [--workers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tasktrack.api.app import create_app
from tasktrack.config import Settings
from tasktrack.demo import registry as demo_registry
from tasktrack.domain.workers import WorkerInfo
from tasktrack.service.identity import IdentityService
from tasktrack.service.workers import WorkerService
from tasktrack.storage.factory import open_stores

VARIANTS = ("no-check", "cached", "uncached")


async def _served(name: str) -> bool:
    return False


async def _batch(client: httpx.AsyncClient, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        response = await client.post("/v2.0/tasks", json={"name": "demo.sleep", "data": {}})
        assert response.status_code == 201, response.text
    return (time.process_time() - start) / n * 1e6


async def main(n: int, batches: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}?synchronous=OFF"
        stores = await open_stores(url)
        identity = IdentityService(stores.identity)
        _, user = await identity.ensure_default()
        _, key = await identity.create_api_key(user.id, label="bench")
        now = time.time()
        for i in range(workers):
            info = WorkerInfo(
                f"host{i}:1:x", f"host{i}", 1, now, now + 3600, 3600.0,
                ("demo.sleep", "demo.fail"), ("default",), 2,
            )  # fmt: skip
            await stores.workers.heartbeat(info, forget_before=0)
        app = create_app(Settings(database_url=url), demo_registry, stores=stores)
        results: dict[str, list[float]] = {v: [] for v in VARIANTS}
        async with app.router.lifespan_context(app):
            ctx = app.state.ctx
            transport = httpx.ASGITransport(app=app)
            headers = {"X-API-Key": key}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers
            ) as client:
                await _batch(client, n)  # warm-up
                for round_ in range(batches):
                    order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
                    for variant in order:
                        service = WorkerService(
                            stores.workers, cache_seconds=0 if variant == "uncached" else 2.0
                        )
                        if variant == "no-check":
                            service.unserved = _served  # type: ignore[method-assign]
                        ctx.workers = service
                        results[variant].append(await _batch(client, n))
        await stores.close()
    base = statistics.median(results["no-check"])
    for variant in VARIANTS:
        median = statistics.median(results[variant])
        print(f"{variant:9s} {median:8.1f} µs CPU per create  ({median / base:.3f}x no-check)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--workers", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.batches, args.workers))
