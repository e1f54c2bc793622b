"""Task handlers that log, for the per-task log tests (imported by worker children too)."""

from __future__ import annotations

import sys
from typing import Any

from tasktrack import TaskContext, TaskRegistry
from tasktrack.domain.history import LOG_LINES_PER_TASK

registry = TaskRegistry()


@registry.task("logs.three")
def three(data: dict[str, Any], ctx: TaskContext) -> None:
    ctx.logger.info("first line")
    ctx.logger.warning("second line")
    ctx.logger.error("third line")


@registry.task("logs.flood")
def flood(data: dict[str, Any], ctx: TaskContext) -> None:
    for i in range(LOG_LINES_PER_TASK + 20):
        ctx.logger.info("flood %d", i)


@registry.task("logs.print", capture_output=True)
def printing(data: dict[str, Any], ctx: TaskContext) -> None:
    print("hello from stdout")
    print("hello from stderr", file=sys.stderr)
    ctx.logger.info("and from the logger")


@registry.task("logs.uncaptured")
def uncaptured(data: dict[str, Any], ctx: TaskContext) -> None:
    print("not stored")
    ctx.logger.info("stored")


@registry.task("logs.fails")
def fails(data: dict[str, Any], ctx: TaskContext) -> None:
    ctx.logger.info("about to fail")
    raise ValueError("boom")


@registry.task("logs.slow")
def slow(data: dict[str, Any], ctx: TaskContext) -> None:
    """Logs ``lines`` lines, ``gap`` seconds apart."""
    for i in range(int(data.get("lines", 3))):
        ctx.logger.info("tick %d", i)
        ctx.wait_cancelled(float(data.get("gap", 0.3)))
