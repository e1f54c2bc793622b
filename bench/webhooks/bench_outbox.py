"""What the webhook triggers cost a task's lifecycle writes (issue 16). Run by hand:

    .venv/bin/python -m bench.webhooks.bench_outbox            # SQLite and PostgreSQL
    BENCH_N=3000 BENCH_BLOCK=100 BENCH_PG=0 .venv/bin/python -m bench.webhooks.bench_outbox

N tasks per database run through create, claim (batches of 50) and finish, in blocks of BLOCK
tasks taken in turn on three databases: *no triggers* (the triggers dropped: the cost before
schema 10; on PostgreSQL, since schema 13, also the counting and wake-up triggers), *no
subscriptions* (this org has none, nor does any other), *others subscribed* (20
subscriptions of another organisation: this org still has none). Reported: the median wall
time per task and CPU time of this process per task (for SQLite that includes the
database's own work; for PostgreSQL it does not), and the medians of each block's ratio to
the *no triggers* block beside it.
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

N = int(os.environ.get("BENCH_N", "3000"))
BLOCK = int(os.environ.get("BENCH_BLOCK", "100"))
ORG, OTHER, USER = "a" * 24, "b" * 24, "c" * 24
DROP_SQLITE = ("DROP TRIGGER tasks_webhook_created", "DROP TRIGGER tasks_webhook_moved")
#: Since migration 13 PostgreSQL's outbox rows come from the statement-level triggers that
#: also count and notify: dropping them prices all three jobs, not the outbox alone.
DROP_PG = ("DROP TRIGGER tasks_inserted ON tasks", "DROP TRIGGER tasks_updated ON tasks")


def _task(now: float) -> Task:
    return Task(
        id=new_id(now), name="job", data={}, status=Status.QUEUED, org_id=ORG, created_by=USER,
        created_at=int(now), last_changed=int(now), last_changed_by=USER, run_after=now,
    )  # fmt: skip


async def _lifecycle(stores: Stores, n: int) -> None:
    now = time.time()
    for start in range(0, n, 50):
        await asyncio.gather(*(stores.tasks.create(_task(now)) for _ in range(start, start + 50)))
        claimed = await stores.tasks.claim("w", ["job"], 50, 30.0, now)
        await asyncio.gather(*(stores.tasks.finish(t.id, t.attempts, now) for t in claimed))


async def _prepare(url: str, variant: str) -> Stores:
    stores = await open_stores(url)
    if variant == "no triggers":
        drop = DROP_PG if url.startswith("postgres") else DROP_SQLITE
        dialect = stores.tasks.dialect  # type: ignore[attr-defined]
        await dialect.write_all([(s, ()) for s in drop])
    if variant == "others subscribed":
        for _ in range(20):
            sub = Subscription(new_id(), OTHER, "https://x/", EVENTS, "s", "", 0.0, USER)
            await stores.webhooks.add_subscription(sub)  # type: ignore[attr-defined]
    return stores


async def _block(stores: Stores) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await _lifecycle(stores, BLOCK)
    return time.perf_counter() - wall, time.process_time() - cpu


VARIANTS = ("no triggers", "no subscriptions", "others subscribed")


async def _bench(name: str, fresh: Callable[[str], Awaitable[str]]) -> None:
    """Blocks of BLOCK tasks on each variant in turn (ABCABC...), so a burst of load from the
    machine's other users hits all three alike; medians of the per-block ratios."""
    opened = {v: await _prepare(await fresh(v), v) for v in VARIANTS}
    try:
        for stores in opened.values():
            await _lifecycle(stores, 100)  # warm-up: connections, caches, statements
        runs: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
        for _ in range(N // BLOCK):
            for variant, stores in opened.items():
                runs[variant].append(await _block(stores))
    finally:
        for stores in opened.values():
            await stores.close()
    base = runs["no triggers"]
    for variant, blocks in runs.items():
        wall = statistics.median(w for w, _ in blocks) / BLOCK * 1e6
        cpu = statistics.median(c for _, c in blocks) / BLOCK * 1e6
        ratio = statistics.median(w / b[0] for (w, _), b in zip(blocks, base, strict=True))
        cpu_ratio = statistics.median(c / b[1] for (_, c), b in zip(blocks, base, strict=True))
        print(
            f"{name:8} {variant:18} wall {wall:7.1f} µs/task ({ratio:.2f}x)  "
            f"cpu {cpu:6.1f} µs/task ({cpu_ratio:.2f}x)  blocks {len(blocks)}"
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
