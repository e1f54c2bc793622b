"""What each candidate change to tasktrack's GET-one path would save (run by hand).

Uses the database ``bench_get_one.py`` seeded. Calls tasktrack's ASGI app directly (no
server) with a random seeded id per request, first as it is, then with one change at a time
*simulated by monkeypatching in this process* (tasktrack's files are not touched), then with
all of them, and the bare Starlette apps for scale. Numbers are µs of this thread's CPU time
per request: for each change, batches of ``--n`` requests alternate between the baseline and
the change (``--batches`` pairs, the same ids in both halves of a pair, which half runs first
alternating), and the saving is the
median of the per-pair differences, which a busy machine's drift affects least.

    .venv/bin/python bench/http/ablate_get_one.py [--n 2000] [--batches 21]

The simulations, each a sketch of a fix (see bench/README.md):

  auth-cache       API key id -> (secret hash, Principal) kept in memory: the SQLite read and
                   ApiKey construction go, the regex, sha256 and constant-time compare stay
  prefix-scope     routes/tasks._prefix reads scope["path"] instead of building request.url
  routes-order     the GET-one route first in the route list (now behind /new/v2.0's routes)
  rfc3339-iso      representation.rfc3339 through isoformat instead of strftime
  no-edge-mw       EdgeMiddleware out of the stack (request id, limiter, metrics; at log
                   level WARNING the access log only checks
                   isEnabledFor: this prices the layer itself)
  gc-freeze        gc.freeze() once start-up is done
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import uvloop
from starlette.applications import Starlette

from tasktrack.storage import sql_store
from tasktrack.storage.rows import TABLE_COLUMNS, task_from_row
from tasktrack.storage.sql_identity import SqlIdentityStore

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("BENCH_STATE_DIR", "/tmp/tasktrack-bench-get-one"))
DB_PATH = STATE / "get_one.db"

Call = Callable[[str], Awaitable[None]]


async def measure(call: Call, ids: list[str], n: int, batches: int) -> float:
    async def batch(k: int) -> float:
        picks = random.choices(ids, k=k)
        t0 = time.thread_time()
        for task_id in picks:
            await call(task_id)
        return time.thread_time() - t0

    await batch(max(n // 10, 100))
    return statistics.median([await batch(n) for _ in range(batches)]) / n * 1e6


# --- the simulated changes -------------------------------------------------------------------


@contextlib.contextmanager
def no_epoch_read(app: Starlette) -> Iterator[None]:
    seen: list[Any] = []
    original = SqlIdentityStore.identity_epoch

    async def remembered(self: SqlIdentityStore) -> Any:
        if not seen:
            seen.append(await original(self))
        return seen[0]

    with mock.patch.object(SqlIdentityStore, "identity_epoch", remembered):
        yield


#: The columns a reply and its scope check read: the 13 contract fields, org, project, version.
_NARROW = (
    "id", "org_id", "project_id", "name", "data", "status", "current_step", "total_step",
    "fail_reason", "last_run_at", "last_finished_at", "created_at", "last_changed",
    "created_by", "last_changed_by", "version",
)  # fmt: skip


@contextlib.contextmanager
def narrow_read(app: Starlette) -> Iterator[None]:
    where = sql_store._SELECT_ONE.split(" FROM ", 1)[1]
    narrow_sql = f"SELECT {', '.join(_NARROW)} FROM {where}"
    at = {name: i for i, name in enumerate(TABLE_COLUMNS)}
    template: list[Any] = [None] * len(TABLE_COLUMNS)
    for name, value in (("attempts", 1), ("max_attempts", 1), ("run_after", 0.0),
                        ("priority", 0), ("queue", "default")):  # fmt: skip
        template[at[name]] = value
    slots = [at[name] for name in _NARROW]
    original = task_from_row

    def widened(row: Any) -> Any:
        if len(row) != len(_NARROW):
            return original(row)
        full = list(template)
        for slot, value in zip(slots, row, strict=True):
            full[slot] = value
        return original(full)

    with (
        mock.patch.object(sql_store, "_SELECT_ONE", narrow_sql),
        mock.patch.object(sql_store, "task_from_row", widened),
    ):
        yield


def _without_layer(app: Starlette, name: str) -> contextlib.AbstractContextManager[None]:
    @contextlib.contextmanager
    def cm() -> Iterator[None]:
        parent: Any = app.middleware_stack
        while parent is not None and type(parent.app).__name__ != name:
            parent = getattr(parent, "app", None)
        if parent is None:
            raise SystemExit(f"no {name} in the middleware stack")
        layer = parent.app
        parent.app = layer.app
        try:
            yield
        finally:
            parent.app = layer

    return cm()


@contextlib.contextmanager
def gc_freeze(app: Starlette) -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


CHANGES: dict[str, Callable[[Starlette], contextlib.AbstractContextManager[None]]] = {
    "no-epoch-read": no_epoch_read,
    "narrow-read": narrow_read,
    "no-edge-mw": lambda app: _without_layer(app, "EdgeMiddleware"),
    "gc-freeze": gc_freeze,
}


async def paired(
    call: Call,
    ids: list[str],
    n: int,
    batches: int,
    change: Callable[[], contextlib.AbstractContextManager[None]],
) -> tuple[float, float, float]:
    """Alternate baseline and changed batches; (median baseline, median changed, median of the
    per-pair savings), µs per request. Alternating keeps a busy machine's drift out of it."""

    async def batch(picks: list[str]) -> float:
        t0 = time.thread_time()
        for task_id in picks:
            await call(task_id)
        return (time.thread_time() - t0) / len(picks) * 1e6

    base: list[float] = []
    changed: list[float] = []
    for i in range(batches + 1):
        picks = random.choices(ids, k=n)
        if i % 2:  # alternate which half goes first
            b = await batch(picks)
            with change():
                c = await batch(picks)
        else:
            with change():
                c = await batch(picks)
            b = await batch(picks)
        if i:  # the first pair warms up
            base.append(b)
            changed.append(c)
    med = statistics.median
    return med(base), med(changed), med(b - c for b, c in zip(base, changed, strict=True))


async def run(ids: list[str], key: str, n: int, batches: int) -> None:
    os.environ.setdefault("BENCH_APP", "bare-starlette-sqlite")
    os.environ["BENCH_DB_PATH"] = str(DB_PATH)
    os.environ["TASKTRACK_DATABASE_URL"] = f"sqlite:///{DB_PATH}"
    sys.path.insert(0, str(HERE))
    import apps
    from profile_get_one import asgi_call

    headers = [(b"x-api-key", key.encode()), (b"accept", b"application/json")]
    app = apps.build("tasktrack")
    assert isinstance(app, Starlette)
    print(f"µs CPU per request, baseline and changed batches alternated ({batches} pairs of {n}):")
    print("| change | baseline | changed | saving (median of pairs) |")
    print("|---|---|---|---|")
    async with app.router.lifespan_context(app):
        call = asgi_call(app, headers)
        await call(ids[0])  # builds the middleware stack

        @contextlib.contextmanager
        def all_changes() -> Iterator[None]:
            with contextlib.ExitStack() as stack:
                for change in CHANGES.values():
                    stack.enter_context(change(app))
                yield

        named: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
            name: functools.partial(change, app) for name, change in CHANGES.items()
        }
        named["all together"] = all_changes
        for name, change in named.items():
            base, changed, saving = await paired(call, ids, n, batches, change)
            print(f"| {name} | {base:.1f} | {changed:.1f} | {saving:.1f} ({saving / base:.0%}) |")
    for name in ("bare-starlette-sqlite", "bare-starlette-sqlite-orjson"):
        bare = await measure(asgi_call(apps.build(name), headers), ids, n, batches)
        print(f"| {name} | {bare:.1f} | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2_000, help="requests per batch")
    parser.add_argument("--batches", type=int, default=21, help="pairs of batches per change")
    args = parser.parse_args()
    if not DB_PATH.exists():
        raise SystemExit(f"{DB_PATH} missing: run bench/http/bench_get_one.py first")
    ids = (STATE / "ids.txt").read_text().split()
    key = (STATE / "api_key.txt").read_text().strip()
    uvloop.run(run(ids, key, args.n, args.batches))


if __name__ == "__main__":
    main()
