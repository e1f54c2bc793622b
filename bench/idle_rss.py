"""Idle memory of ``tasktrack serve`` and ``tasktrack worker -c 2``, whole process tree.

Run by hand (see bench/README.md, "Issue 15: list cost at 1,000,000 tasks"):

    .venv/bin/python -m bench.idle_rss

Each command is started on a fresh SQLite file, left idle for ``--settle`` seconds after its
process tree stops growing, then every process of the tree is read from ``/proc``: RSS
(``VmRSS``; pages shared between the processes, such as the interpreter's, count once per
process) and PSS (``smaps_rollup``: shared pages split between their sharers, so the sum is
what the tree really holds). Printed per process, with what each one is.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "serve (in-process worker, -c 2)": ["serve", "--port", "18765"],
    "serve --no-worker": ["serve", "--port", "18766", "--no-worker"],
    "worker -c 2": ["worker", "-c", "2"],
}


def tree(root: int) -> list[int]:
    """``root`` and every descendant, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def kib(pid: int, path: str, field: str) -> int:
    for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def describe(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    text = " ".join(a.decode(errors="replace") for a in args if a)
    return text[-90:]


def measure(label: str, args: list[str], settle: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TASKTRACK_DATABASE_URL=f"sqlite:///{tmp}/tasks.db")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tasktrack", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            stable, count, deadline = time.monotonic(), 0, time.monotonic() + 120
            while time.monotonic() - stable < settle and time.monotonic() < deadline:
                now = len(tree(proc.pid))
                if now != count:
                    count, stable = now, time.monotonic()
                time.sleep(0.5)
            pids = tree(proc.pid)
            rows = [(p, kib(p, "status", "VmRSS"), kib(p, "smaps_rollup", "Pss")) for p in pids]
            print(f"\n{label}: {len(rows)} processes")
            for pid, rss, pss in rows:
                print(f"  {rss / 1024:6.1f} MiB RSS {pss / 1024:6.1f} MiB PSS  {describe(pid)}")
            rss_sum = sum(r[1] for r in rows) / 1024
            pss_sum = sum(r[2] for r in rows) / 1024
            print(f"  total: {rss_sum:.1f} MiB RSS, {pss_sum:.1f} MiB PSS")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settle", type=float, default=8.0)
    settle = parser.parse_args().settle
    for label, args in COMMANDS.items():
        measure(label, args, settle)


if __name__ == "__main__":
    main()
