"""A cancelled waiter is cancelled, even when its wake-up comes in the same turn (Python 3.11's
wait_for() could swallow that cancel, and a worker then never stopped its claim loop)."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.storage.events import LocalEvents


async def test_a_cancel_racing_a_wake_up_still_cancels_the_waiter() -> None:
    events = LocalEvents()
    waiter = asyncio.create_task(events.wait_queued(5.0))
    await asyncio.sleep(0)  # the waiter is parked on the event
    events.wake_queued()  # the event fires, and in the same turn
    waiter.cancel()  # the waiter is cancelled (a worker shutting down)
    with pytest.raises(asyncio.CancelledError):
        await waiter
