"""Profile the tasktrack worker draining a queue of no-op tasks (a by-hand tool, not CI).

    .venv/bin/python -m bench.e2e.profile_worker --n 10000 --py-spy /tmp/peers-venv/bin/py-spy

Seeds a fresh SQLite database (``synchronous=FULL``) with ``--n`` no-op tasks (gather x64
producer), launches ``python -m tasktrack worker --app bench.e2e.tasks --concurrency 2``,
attaches ``py-spy record --subprocesses --threads`` to it (``--idle`` adds idle samples: a
wall-clock view; ``--no-profile`` skips py-spy), waits until every task is done, and prints
the drain rate from the raw ``last_finished_at`` stamps plus, for a raw (collapsed-stack)
profile, the frames ranked by inclusive and by self samples for each process and thread.
``--drain-every`` prints the drain rate of each slice of that many tasks (ordered by finish
time), to show whether the rate falls as the table grows or as the drain goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.e2e.bench_e2e import ROOT, STATE, WorkerProcess, fresh_db, produce, read_stamps
from bench.e2e.tasks import registry
from tasktrack.domain.identity import Principal
from tasktrack.service.identity import IdentityService
from tasktrack.service.tasks import TaskService
from tasktrack.storage.factory import open_stores


async def seed(url: str, n: int) -> None:
    stores = await open_stores(url)
    try:
        org, user = await IdentityService(stores.identity).ensure_default()
        await produce(TaskService(stores.tasks, registry), Principal(user.id, org.id), n, True)
    finally:
        await stores.close()


def done_count(path: Path) -> int:
    con = sqlite3.connect(path, timeout=10)
    try:
        return int(con.execute("SELECT count(*) FROM tasks WHERE status = 'done'").fetchone()[0])
    finally:
        con.close()


def slices(path: Path, every: int) -> list[float]:
    con = sqlite3.connect(path)
    try:
        stamps = [
            r[0]
            for r in con.execute(
                "SELECT last_finished_at FROM tasks WHERE status = 'done' ORDER BY 1"
            )
        ]
    finally:
        con.close()
    return [
        every / (stamps[i + every - 1] - stamps[i])
        for i in range(0, len(stamps) - every + 1, every)
        if stamps[i + every - 1] > stamps[i]
    ]


def _short(frame: str) -> str:
    """``name (path/to/file.py:123)`` -> ``name (file.py:123)``; process frames -> ``process``."""
    if frame.startswith("process "):
        pid, _, cmd = frame[len("process ") :].partition(":")
        role = (
            "child" if "spawn_main" in cmd else "tracker" if "resource_tracker" in cmd else "worker"
        )
        return f"{role} process {pid}"
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1]}" if where else name


def summarize(raw: Path, top: int) -> str:
    """Rank frames of a py-spy raw profile (``--threads``) per process and thread.

    For each thread: its share of all samples, then the frames ranked by inclusive samples
    and the leaf frames ranked by self samples, both as a share of that thread's samples.
    """
    inclusive: dict[str, Counter[str]] = defaultdict(Counter)
    self_time: dict[str, Counter[str]] = defaultdict(Counter)
    per_thread: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        # the innermost process frame and the thread frame after it name the thread
        cut = max(i for i, f in enumerate(frames) if " process " in f or f.startswith("child"))
        head = frames[cut]
        rest = frames[cut + 1 :]
        if rest and rest[0].startswith("thread "):
            head, rest = f"{head} {rest[0]}", rest[1:]
        roles = [f for f in rest if f.endswith(("_write_loop (connection.py", "_read (child.py"))]
        key = f"{head}{' ' + roles[0].split(' (')[0] if roles else ''}"
        n = int(count)
        per_thread[key] += n
        for frame in set(rest):
            inclusive[key][frame] += n
        if rest:
            self_time[key][rest[-1]] += n
    grand = sum(per_thread.values())
    out = []
    for key, total in per_thread.most_common():
        if total < grand * 0.02:
            continue
        out.append(f"== {key}: {total} samples ({100 * total / grand:.0f}% of all)")
        out.append("  inclusive:")
        for frame, n in inclusive[key].most_common(top):
            out.append(f"    {100 * n / total:5.1f}%  {frame}")
        out.append("  self:")
        for frame, n in self_time[key].most_common(top):
            out.append(f"    {100 * n / total:5.1f}%  {frame}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--py-spy", default="/tmp/peers-venv/bin/py-spy")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--idle", action="store_true", help="sample idle threads too (wall-clock view)")
    ap.add_argument("--format", default="raw", choices=("raw", "flamegraph", "speedscope"))
    ap.add_argument("--rate", type=int, default=250)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--drain-every", type=int, default=0)
    ap.add_argument("--out", type=Path, default=STATE / "profile")
    args = ap.parse_args()

    STATE.mkdir(parents=True, exist_ok=True)
    db_path = STATE / "profile.db"
    fresh_db(db_path)
    url = f"sqlite:///{db_path}"
    asyncio.run(seed(url, args.n))
    print(f"seeded {args.n} tasks", file=sys.stderr)

    worker = WorkerProcess(url, STATE / "profile-worker.log")
    spy: subprocess.Popen[bytes] | None = None
    out = args.out.with_suffix({"raw": ".txt", "flamegraph": ".svg"}.get(args.format, ".json"))
    try:
        if not args.no_profile:
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(worker.proc.pid),
                    "--subprocesses",
                    "--threads",
                    *(["--idle"] if args.idle else []),
                    "--rate",
                    str(args.rate),
                    "--format",
                    args.format,
                    "-o",
                    str(out),
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 900
        while done_count(db_path) < args.n:
            worker.check()
            if time.monotonic() > deadline:
                raise SystemExit("not drained after 900 s")
            time.sleep(0.25)
    finally:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            spy.wait(60)
        worker.stop()
    done, _first, last, first_claim = read_stamps(db_path)
    print(
        f"drained {done} in {last - first_claim:.2f}s: "
        f"{done / (last - first_claim):.0f} tasks/s from the first claim "
        f"({'profiled' if spy else 'not profiled'}; pid {os.getpid()})"
    )
    if args.drain_every:
        rates = slices(db_path, args.drain_every)
        print("per-slice tasks/s:", " ".join(f"{r:.0f}" for r in rates))
    if spy is not None and args.format == "raw" and out.exists():
        print(f"profile: {out}")
        print(summarize(out, args.top))


if __name__ == "__main__":
    main()
