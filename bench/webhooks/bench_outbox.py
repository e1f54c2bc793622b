"""What the webhook triggers cost a task's lifecycle writes (issue 16). Run by hand:

    .venv/bin/python -m bench.webhooks.bench_outbox            # SQLite and PostgreSQL
    BENCH_N=2000 BENCH_ROUNDS=3 .venv/bin/python -m bench.webhooks.bench_outbox

Each round runs N tasks through create, claim (batches of 50) and finish on three databases,
in alternation: *no triggers* (the triggers dropped: the cost before schema 10), *no
subscriptions* (this org has none, nor does any other), *others subscribed* (20 subscriptions
of another organisation: this org still has none). Reported: the median wall time per task
and, for SQLite (whose work happens in this process), CPU time per task; ratios are to *no
triggers* in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tasktrack.domain.ids import new_id
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.domain.webhooks import EVENTS, Subscription
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tests import pg

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ORG, OTHER, USER = "a" * 24, "b" * 24, "c" * 24
DROP = ("DROP TRIGGER tasks_webhook_created{on}", "DROP TRIGGER tasks_webhook_moved{on}")


def _task(now: float) -> Task:
    return Task(
        id=new_id(now), name="job", data={}, status=Status.QUEUED, org_id=ORG, created_by=USER,
        created_at=int(now), last_changed=int(now), last_changed_by=USER, run_after=now,
    )  # fmt: skip


async def _lifecycle(stores: Stores) -> None:
    now = time.time()
    for start in range(0, N, 50):
        await asyncio.gather(*(stores.tasks.create(_task(now)) for _ in range(start, start + 50)))
        claimed = await stores.tasks.claim("w", ["job"], 50, 30.0, now)
        await asyncio.gather(*(stores.tasks.finish(t.id, t.attempts, now) for t in claimed))


async def _prepare(url: str, variant: str) -> None:
    stores = await open_stores(url)
    try:
        if variant == "no triggers":
            on = " ON tasks" if url.startswith("postgres") else ""
            await stores.tasks.dialect.write_all([(s.format(on=on), ()) for s in DROP])  # type: ignore[attr-defined]
        if variant == "others subscribed":
            for _ in range(20):
                sub = Subscription(new_id(), OTHER, "https://x/", EVENTS, "s", "", 0.0, USER)
                await stores.webhooks.add_subscription(sub)  # type: ignore[attr-defined]
    finally:
        await stores.close()


async def _measure(url: str) -> tuple[float, float]:
    stores = await open_stores(url)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        await _lifecycle(stores)
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await stores.close()


VARIANTS = ("no triggers", "no subscriptions", "others subscribed")


async def _bench(name: str, fresh: Callable[[str], Awaitable[str]]) -> None:
    results: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    for _ in range(ROUNDS):
        for variant in VARIANTS:
            url = await fresh(variant)
            await _prepare(url, variant)
            results[variant].append(await _measure(url))
    base = statistics.median(w for w, _ in results["no triggers"])
    base_cpu = statistics.median(c for _, c in results["no triggers"])
    for variant, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(
            f"{name:8} {variant:18} wall {wall / N * 1e6:7.1f} µs/task ({wall / base:.2f}x)  "
            f"cpu {cpu / N * 1e6:7.1f} µs/task ({cpu / base_cpu:.2f}x)  rounds {len(runs)}"
        )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        count = iter(range(10_000))

        async def sqlite(variant: str) -> str:
            return f"sqlite:///{Path(tmp) / f'b{next(count)}.db'}"

        await _bench("sqlite", sqlite)
    if os.environ.get("BENCH_PG", "1") == "1":
        template = pg.create_template()
        made: list[str] = []

        async def postgres(variant: str) -> str:
            name = f"tasktrack_bench_{next(count)}_{os.getpid()}"
            with pg.admin() as con:
                con.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            made.append(name)
            return pg.url_for(name)

        try:
            await _bench("postgres", postgres)
        finally:
            for name in [*made, template]:
                pg.drop(name)


if __name__ == "__main__":
    asyncio.run(main())
