"""Where the worker's drain time goes: ablations by subclassing (tasktrack/ is not touched).

    .venv/bin/python -m bench.e2e.ablate_worker                # N=5000, 3 rounds, all variants

Seeds one SQLite database (``synchronous=FULL``) with ``BENCH_N`` no-op tasks (default 5,000),
copies it fresh for each run, and drains it with an in-process ``Worker`` (concurrency 2, the
same spawned child processes as ``tasktrack worker``), counting the writer thread's commits
(group commits) and how many writes each carried. Variants, in alternation for
``BENCH_ROUNDS`` (3) rounds, medians reported:

  baseline          tasktrack's Worker as it is
  free-then-settle  the child goes back to the pool (waking the claim loop) as soon as its
                    outcome is known, before the settle write is awaited, so the next claim
                    is queued while the finish commits and can share its commit
  prefetch          free-then-settle plus up to 2 tasks claimed ahead (Celery's default
                    prefetch holds 4 per process), handed to a child the moment it frees: no
                    commit on a child's critical path
  prefetch-16       the same with up to 16 claimed ahead (bigger claims, bigger groups)
  baseline-normal   baseline on ``synchronous=NORMAL`` (reference only: not durable on power
                    loss) to show what fsync costs

Like bench_e2e.py, each run first waits for a quiet machine (BENCH_QUIET_MAX, BENCH_QUIET_BUSY).
Prints one JSON line per run and a markdown table of medians.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.e2e.bench_e2e import STATE, fresh_db, read_stamps, wait_quiet
from bench.e2e.profile_worker import seed
from bench.e2e.tasks import registry
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task
from tasktrack.storage.factory import open_stores
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.worker.process import ChildProcess
from tasktrack.worker.settle import settle
from tasktrack.worker.worker import Worker, WorkerOptions, _Running

log = logging.getLogger("bench.ablate")
N_TASKS = int(os.environ.get("BENCH_N", "5000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OPTIONS = WorkerOptions(concurrency=2, app_modules=("bench.e2e.tasks",), demo=False)


class FreeThenSettle(Worker):
    """Frees the child before awaiting the settle write (otherwise the same as Worker)."""

    def _child_freed(self, child: ChildProcess) -> None:
        self._free.append(child)
        self._slot_free.set()

    async def _execute(self, child: ChildProcess, task: Task) -> None:
        task_type = self.registry.get(task.name)
        run = _Running(task, task_type, child, cancelling=task.status is Status.CANCELLING)
        self._running[task.id] = run
        returned = False
        try:
            outcome = await self._run_child(run)
            if run.lost:
                return
            if run.released:
                await self._release(run)
                return
            if child.alive:
                returned = True
                self._child_freed(child)
            await self._flush_progress(run)
            await settle(self.store, task, task_type, outcome, run.cancelling, self.clock())
        except Exception:
            log.exception("settling task %s failed", task.id)
        finally:
            if run.kill_timer is not None:
                run.kill_timer.cancel()
            if run.writer is not None:
                run.writer.cancel()
            self._running.pop(task.id, None)
            run.done.set()
            if not returned:
                await self._return_child(child)


class Prefetch(FreeThenSettle):
    """Keeps up to ``depth`` claimed tasks in hand; a freed child takes one at once."""

    depth = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer: deque[Task] = deque()

    def _start(self, child: ChildProcess, task: Task) -> None:
        execution = asyncio.create_task(self._execute(child, task))
        self._executions.add(execution)
        execution.add_done_callback(self._executions.discard)

    def _child_freed(self, child: ChildProcess) -> None:
        if self._buffer and not self._stop.is_set():
            self._start(child, self._buffer.popleft())
            self._slot_free.set()  # the buffer shrank: top it up
        else:
            super()._child_freed(child)

    async def _claim_loop(self) -> None:
        while not self._stop.is_set():
            while self._buffer and self._free:
                self._start(self._free.pop(), self._buffer.popleft())
            busy = len(self._children) - len(self._free)
            want = len(self._children) + self.depth - busy - len(self._buffer)
            if want <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            tasks = await self.store.claim(
                self.id, self._names, want, self.options.lease_seconds, self.clock()
            )
            self._buffer.extend(tasks)
            if not tasks and not self._buffer:
                await self.store.wait_queued(self.options.poll_interval)


class Prefetch16(Prefetch):
    depth = 16


VARIANTS: dict[str, tuple[type[Worker], str]] = {
    "baseline": (Worker, "FULL"),
    "free-then-settle": (FreeThenSettle, "FULL"),
    "prefetch": (Prefetch, "FULL"),
    "prefetch-16": (Prefetch16, "FULL"),
    "baseline-normal": (Worker, "NORMAL"),
}


def count_commits(db: SQLiteDatabase) -> list[int]:
    """Wrap the writer's group commit; returns the list of group sizes it fills."""
    sizes: list[int] = []
    original: Callable[[list[Any]], None] = db._commit_group

    def counted(group: list[Any]) -> None:
        sizes.append(len(group))
        original(group)

    db._commit_group = counted  # type: ignore[method-assign]
    return sizes


async def drain(worker_cls: type[Worker], path: Path, synchronous: str, n: int) -> dict[str, Any]:
    stores = await open_stores(f"sqlite:///{path}", sqlite_synchronous=synchronous)
    sizes = count_commits(stores.db)  # type: ignore[attr-defined]
    worker = worker_cls(stores.tasks, registry, OPTIONS)
    running = asyncio.create_task(worker.run())
    try:
        await worker.started.wait()
        sizes.clear()
        while (await stores.tasks.count_by_status())[Status.DONE] < n:
            if running.done():
                running.result()
                raise SystemExit("worker stopped early")
            await asyncio.sleep(0.25)
    finally:
        worker.stop()
        with contextlib.suppress(Exception):
            await running
        await stores.close()
    done, _, last, first_claim = read_stamps(path)
    return {
        "done": done,
        "tasks/s": done / (last - first_claim),
        "commits": len(sizes),
        "writes/commit": statistics.mean(sizes) if sizes else 0.0,
        "commits/task": len(sizes) / done,
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    STATE.mkdir(parents=True, exist_ok=True)
    seed_path = STATE / "ablate-seed.db"
    fresh_db(seed_path)
    asyncio.run(seed(f"sqlite:///{seed_path}", N_TASKS))
    keys = [k for k in os.environ.get("BENCH_VARIANTS", ",".join(VARIANTS)).split(",") if k]
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for rnd in range(1, ROUNDS + 1):
        for key in keys:
            worker_cls, synchronous = VARIANTS[key]
            path = STATE / "ablate.db"
            fresh_db(path)
            shutil.copyfile(seed_path, path)
            busy = wait_quiet()
            t0 = time.time()
            res = asyncio.run(drain(worker_cls, path, synchronous, N_TASKS))
            res.update(variant=key, round=rnd, wall=round(time.time() - t0, 1), busy=busy)
            print(json.dumps(res), flush=True)
            results[key].append(res)
    print(f"\nN = {N_TASKS:,}, concurrency 2, {ROUNDS} rounds, medians", file=sys.stderr)
    print("| variant | drain tasks/s | commits/task | writes/commit |")
    print("| --- | ---: | ---: | ---: |")
    for key in keys:
        rs = results[key]
        med = {m: statistics.median(r[m] for r in rs) for m in rs[0] if m != "variant"}
        print(
            f"| {key} | {med['tasks/s']:,.0f} | {med['commits/task']:.2f} | "
            f"{med['writes/commit']:.2f} |"
        )


if __name__ == "__main__":
    main()
