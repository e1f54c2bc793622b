"""The benchmark's task type: a no-op (sync, or async with ``BENCH_ASYNC=1``), imported by
the worker's child processes by module name (``tasktrack worker --app bench.e2e.tasks``, run
with the repository root as the working directory)."""

from __future__ import annotations

import os
import time
from typing import Any

from tasktrack import TaskContext, TaskRegistry

NAME = "bench.noop"
#: BENCH_RESULT=1: return a stamp, stored as the task's result (as huey's bench stores one).
RESULT = os.environ.get("BENCH_RESULT") == "1"
registry = TaskRegistry()


#: BENCH_ASYNC=1: the no-op is a coroutine (for TASKTRACK_IN_PROCESS=1 workers, which run
#: only async handlers, as pgqueuer and saq run theirs).
ASYNC = os.environ.get("BENCH_ASYNC") == "1"


def noop(data: dict[str, Any], ctx: TaskContext) -> float | None:
    """Does nothing: the benchmark measures the runtime, not the work."""
    return time.time() if RESULT else None


async def noop_async(data: dict[str, Any], ctx: TaskContext) -> float | None:
    """The same, as a coroutine."""
    return time.time() if RESULT else None


registry.task(NAME)(noop_async if ASYNC else noop)
