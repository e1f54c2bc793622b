"""The in-process slot's edges that the integration tests cannot reach on purpose."""

from __future__ import annotations

import asyncio
from typing import Any

from tasktrack import TaskContext, TaskRegistry
from tasktrack.worker.inline import InlineSlot
from tasktrack.worker.process import Job

registry = TaskRegistry()
release = asyncio.Event()


@registry.task("unit.stubborn")
async def stubborn(data: dict[str, Any], ctx: TaskContext) -> str:
    """Ignores cancellation until released."""
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue
    return "finished anyway"


async def test_kill_ends_the_attempt_at_once_even_if_the_handler_ignores_it() -> None:
    slot = InlineSlot(registry)
    progress: list[tuple[int, int]] = []
    job = Job("t1", "unit.stubborn", 1, 0, 0, {})
    result = slot.begin(job, lambda c, t: progress.append((c, t)))
    await asyncio.sleep(0)  # the handler is waiting now
    slot.kill()
    assert (await result).kind == "killed"
    assert not slot.busy  # the slot takes the next task; the stubborn handler runs on
    release.set()
    second = slot.begin(Job("t2", "unit.stubborn", 1, 0, 0, {}), lambda c, t: None)
    assert (await second).kind == "done" and (await result).kind == "killed"
