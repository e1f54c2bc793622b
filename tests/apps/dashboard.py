"""Task types for the dashboard's browser tests (issue 13: results, attempts, logs, re-runs).

The dashboard server loads this module (``TASKTRACK_APP_MODULES``), so its worker's children
import it too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tasktrack import TaskContext, TaskRegistry

registry = TaskRegistry()


@registry.task("dash.answer", total_steps=lambda d: int(d.get("steps", 3)))
async def answer(data: dict[str, Any], ctx: TaskContext) -> Any:
    """Log one line per step, ``pause`` seconds apart, then return ``{"answer": 42, ...}``."""
    steps = int(data.get("steps", 3))
    ctx.logger.info("starting %d steps", steps)
    for i in range(1, steps + 1):
        await asyncio.sleep(float(data.get("pause", 0.0)))
        ctx.logger.info("step %d of %d", i, steps)
        ctx.step()
    ctx.logger.warning("about to answer")
    return {"answer": 42, "label": data.get("label", "")}
