"""Task types with flow control (issue 14, point 4), for the worker-process tests.

Each handler appends ``start|end <task> <type> <key> <time>`` to ``data["log"]``: the tests
rebuild from it how many handlers of a type (or key) ran at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tasktrack import TaskContext, TaskRegistry
from tests.apps.handlers import _append

registry = TaskRegistry()


def _run(data: dict[str, Any], ctx: TaskContext, kind: str) -> None:
    key = data.get("customer", "-")
    _append(data.get("log"), f"start {ctx.task_id} {kind} {key} {time.time()}")
    time.sleep(float(data.get("seconds", 0.2)))
    _append(data.get("log"), f"end {ctx.task_id} {kind} {key} {time.time()}")


@registry.task("flow.capped", concurrency=2)
def capped(data: dict[str, Any], ctx: TaskContext) -> None:
    """At most two run at once in the whole cluster."""
    _run(data, ctx, "capped")


@registry.task("flow.keyed", concurrency_key="customer")
def keyed(data: dict[str, Any], ctx: TaskContext) -> None:
    """At most one per customer at once (key_concurrency defaults to 1)."""
    _run(data, ctx, "keyed")


@registry.task("flow.rated", rate_limit="4/2 seconds")
def rated(data: dict[str, Any], ctx: TaskContext) -> None:
    """At most four start in any two seconds."""
    _run(data, ctx, "rated")


@registry.task("flow.plain")
def plain(data: dict[str, Any], ctx: TaskContext) -> None:
    """No limits."""
    _run(data, ctx, "plain")


@registry.task("flow.single", concurrency=1, max_attempts=2, retry_backoff=0.1)
def single(data: dict[str, Any], ctx: TaskContext) -> None:
    """One at a time; with ``hold``, attempt 1 marks ``started`` and blocks forever."""
    if data.get("hold") and ctx.attempt == 1:
        Path(data["started"]).touch()
        while True:
            time.sleep(0.05)
    _run(data, ctx, "single")
