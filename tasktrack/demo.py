"""Built-in demo task types, so a fresh server has something to run.

``demo.sleep`` sleeps ``seconds`` in ``steps`` equal steps, reporting each one; ``demo.fail``
fails with ``message``. Both honour cancellation.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tasktrack.errors import InvalidArgument
from tasktrack.service.registry import TaskRegistry

registry = TaskRegistry()


def _number(data: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InvalidArgument(f"data.{key} must be a number from {lo:g} to {hi:g}")
    return float(value)


def _check_sleep(data: dict[str, Any]) -> None:
    _number(data, "seconds", 5, 0, 86_400)
    steps = data.get("steps", 10)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10_000:
        raise InvalidArgument("data.steps must be an integer from 1 to 10000")


def _check_fail(data: dict[str, Any]) -> None:
    message = data.get("message", "demo failure")
    if not isinstance(message, str) or len(message) > 2000:
        raise InvalidArgument("data.message must be a string of at most 2000 characters")


@registry.task(
    "demo.sleep", total_steps=lambda data: int(data.get("steps", 10)), validate=_check_sleep
)
async def sleep(data: dict[str, Any], ctx: Any) -> None:
    """Sleep ``seconds`` in ``steps`` equal steps, reporting each step."""
    seconds = float(data.get("seconds", 5))
    steps = int(data.get("steps", 10))
    ctx.set_total(steps)
    for _ in range(steps):
        await asyncio.sleep(seconds / steps)
        ctx.raise_if_cancelled()
        ctx.step()


@registry.task("demo.fail", validate=_check_fail)
def fail(data: dict[str, Any], ctx: Any) -> None:
    """Fail at once with ``message``."""
    raise RuntimeError(str(data.get("message", "demo failure")))
