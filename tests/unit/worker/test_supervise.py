"""Supervised loops: errors are logged and retried with a bounded, resetting back-off."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tasktrack.errors import StorageError
from tasktrack.worker.supervise import Backoff, forever


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(first=0.1, cap=0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


async def test_a_failing_step_is_logged_and_run_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    failures = [ValueError("bad row"), StorageError("db down")]

    async def step() -> None:
        calls.append(1)
        if failures:
            raise failures.pop(0)

    loop = asyncio.create_task(forever("probe", step, Backoff(first=0.001, cap=0.002)))
    while len(calls) < 5:
        await asyncio.sleep(0.001)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    records = [r for r in caplog.records if r.name == "tasktrack.worker"]
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    unexpected, ours = records
    assert unexpected.exc_info is not None and isinstance(unexpected.exc_info[1], ValueError)
    assert ours.exc_info is None and "db down" in ours.getMessage()  # ours: one line
