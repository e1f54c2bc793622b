"""The loop watch: a blocked event loop is reported while it lasts and when it ends."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tasktrack.worker.stall import LoopWatch


async def test_a_blocked_loop_is_reported_while_blocked_and_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="tasktrack.worker")
    watch = LoopWatch(limit=0.5)
    watch.start()
    try:
        await asyncio.sleep(0.3)  # a turning loop: nothing to say
        assert not caplog.records
        time.sleep(1.5)  # what an in-process handler that does not await does to the loop
        # The watch thread spoke during the block, before the loop could run again.
        during = [r.getMessage() for r in caplog.records]
        assert any("has not turned for" in m for m in during), during
        await asyncio.sleep(0.3)  # the loop turns: the block's length is reported
        after = [r.getMessage() for r in caplog.records]
        assert any("turns again after 1." in m for m in after), after
    finally:
        watch.stop()
