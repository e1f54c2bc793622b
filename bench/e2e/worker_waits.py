"""Where a draining worker waits: claim latency, idle children, the SQLite writer's time.

A by-hand tool, not CI. It runs ``tasktrack worker`` with a few methods wrapped (timing
only; behaviour unchanged) and prints, when the worker exits (send it SIGTERM):

* claims: how many, tasks asked and got per claim, latency p50/p90 (submit to rows back);
* children: how often a freed child found no run waiting (the hand was empty) and the
  total time children sat idle that way;
* SQLite writer: groups committed, writes per group, time busy, of which COMMIT and BEGIN.

    PYTHONPATH=. .venv/bin/python bench/e2e/worker_waits.py worker --app bench.e2e.tasks \\
        --concurrency 2 --database-url sqlite:////tmp/seeded.db

Seed the database first (``bench.e2e.profile_worker.seed``). This found, at stop 20, the
claims waiting 6-12 ms behind the group-commit window and the children idle a third of a
drain (bench/README.md, "Stop 20").
"""

from __future__ import annotations

import atexit
import statistics
import sys
import time
from collections import Counter
from typing import Any

from tasktrack.storage import sql_store
from tasktrack.storage.sqlite import connection
from tasktrack.worker import pool

children: Counter[str] = Counter()
idle_since: dict[int, float] = {}
idle_total = [0.0]
claims: list[tuple[int, int, float]] = []
groups: list[int] = []
writer = {"busy": 0.0, "COMMIT": 0.0, "BEGIN IMMEDIATE": 0.0}


def _wrap_pool() -> None:
    put, request = pool.ChildPool._put, pool.ChildPool.request

    def timed_put(self: Any, child: Any) -> None:
        waited_for = any(not w.done() for w in self._waiters)
        children["to a waiting run" if waited_for else "idle (hand empty)"] += 1
        if not waited_for:
            idle_since[id(child)] = time.monotonic()
        put(self, child)

    def timed_request(self: Any) -> Any:
        waiter = request(self)
        if waiter.done() and (since := idle_since.pop(id(waiter.result()), None)):
            idle_total[0] += time.monotonic() - since
        return waiter

    pool.ChildPool._put = timed_put  # type: ignore[method-assign]
    pool.ChildPool.request = timed_request  # type: ignore[method-assign]


def _wrap_claim() -> None:
    claim = sql_store.SqlTaskStore.claim

    async def timed_claim(self: Any, worker_id: str, names: Any, n: int, *a: Any) -> Any:
        start = time.monotonic()
        rows = await claim(self, worker_id, names, n, *a)
        claims.append((n, len(rows), time.monotonic() - start))
        return rows

    sql_store.SqlTaskStore.claim = timed_claim  # type: ignore[method-assign]


class _TimedConnection:
    """The writer's connection, timing BEGIN IMMEDIATE and COMMIT."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def execute(self, sql: str, *args: Any) -> Any:
        if sql not in writer:
            return self.con.execute(sql, *args)
        start = time.monotonic()
        try:
            return self.con.execute(sql, *args)
        finally:
            writer[sql] += time.monotonic() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def _wrap_writer() -> None:
    database = connection.SQLiteDatabase
    commit_group, plain = database._commit_group, database.connection

    def timed_group(self: Any, group: Any) -> None:
        start = time.monotonic()
        self.connection = lambda: _TimedConnection(plain(self))
        try:
            commit_group(self, group)
        finally:
            del self.connection
        writer["busy"] += time.monotonic() - start
        groups.append(len(group))

    database._commit_group = timed_group  # type: ignore[method-assign]


def report() -> None:
    out = sys.stderr
    if claims:
        latency = sorted(c[2] for c in claims)
        p50, p90 = latency[len(latency) // 2], latency[int(len(latency) * 0.9)]
        asked = statistics.mean(c[0] for c in claims)
        got = statistics.mean(c[1] for c in claims)
        out.write(
            f"claims: {len(claims)}, asked {asked:.1f} got {got:.1f} on average, "
            f"latency p50 {p50 * 1e3:.2f} ms p90 {p90 * 1e3:.2f} ms\n"
        )
    out.write(f"children freed: {dict(children)}; idle with the hand empty {idle_total[0]:.2f} s\n")
    if groups:
        out.write(
            f"SQLite writer: {len(groups)} groups, {sum(groups) / len(groups):.2f} writes each, "
            f"busy {writer['busy']:.2f} s (COMMIT {writer['COMMIT']:.2f} s, "
            f"BEGIN {writer['BEGIN IMMEDIATE']:.2f} s)\n"
        )


if __name__ == "__main__":
    _wrap_pool()
    _wrap_claim()
    _wrap_writer()
    atexit.register(report)
    from tasktrack.cli.main import main

    sys.argv = ["tasktrack", *sys.argv[1:]]
    main()
