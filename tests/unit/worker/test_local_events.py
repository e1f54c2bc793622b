"""Waiting for task changes in one process (storage/events.py): a waiter on several tasks
wakes on a change to any of them, on a wake-all or at its timeout, and leaves nothing behind
however it ended (a worker's cancel watch waits thousands of times a minute)."""

from __future__ import annotations

import asyncio

import pytest

from tasktrack.storage.events import LocalEvents

LONG = 30.0  # a timeout no passing test reaches


async def _parked(events: LocalEvents, ids: list[str], timeout: float = LONG) -> asyncio.Task[None]:
    waiter = asyncio.create_task(events.wait_changed(ids, timeout))
    await asyncio.sleep(0)  # parked
    assert not waiter.done()
    return waiter


async def test_a_change_to_any_watched_task_wakes_every_waiter_on_it() -> None:
    events = LocalEvents()
    both = await _parked(events, ["a", "b"])
    other = await _parked(events, ["b"])
    bystander = await _parked(events, ["c"])
    events.touch("b")
    await asyncio.wait_for(asyncio.gather(both, other), 5)
    assert not bystander.done()
    events.touch("a")  # nobody left on "a": a no-op
    bystander.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bystander
    assert events._changed == {}


async def test_a_wait_ends_at_its_timeout_and_leaves_nothing_behind() -> None:
    events = LocalEvents()
    await asyncio.wait_for(events.wait_changed(["a", "a", "b"], 0.05), 5)
    assert events._changed == {}


async def test_wake_all_wakes_every_waiter() -> None:
    events = LocalEvents()
    waiters = [await _parked(events, [f"t{i}", "shared"]) for i in range(3)]
    events.wake_all()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert events._changed == {}
