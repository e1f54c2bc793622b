"""In-process change signals, for stores without a cross-process push channel.

SQLite and the memory store call :meth:`LocalEvents.notify` after their own writes, so an API
and a worker sharing one store object (``tasktrack serve``) hear each other at once; another
process still learns by polling at its interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.task import Task


class LocalEvents:
    """Waiters keyed by task id, plus one "something is queued" signal. Event-loop only."""

    def __init__(self) -> None:
        self._queued = asyncio.Event()
        self._changed: dict[str, tuple[asyncio.Event, int]] = {}

    def notify(self, tasks: Iterable[Task]) -> None:
        """Wake whoever waits on these tasks (and claimers, for queued ones)."""
        for task in tasks:
            self.touch(task.id, queued=task.status is Status.QUEUED)

    def touch(self, task_id: str, *, queued: bool = False) -> None:
        entry = self._changed.get(task_id)
        if entry is not None:
            entry[0].set()
        if queued:
            self._queued.set()

    def wake_queued(self) -> None:
        self._queued.set()

    def wake_all(self) -> None:
        """Wake every waiter (after a gap in notifications, anything may have changed)."""
        self._queued.set()
        for event, _ in self._changed.values():
            event.set()

    async def wait_queued(self, timeout: float) -> None:
        event = self._queued
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for() swallows a cancel that
            # arrives in the turn the event fires, and the worker's claim loop then never
            # stopped (a shutdown hung). tests/unit/worker/test_events_cancel.py
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            return
        if self._queued is event:
            self._queued = asyncio.Event()

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            await asyncio.sleep(timeout)
            return
        events = []
        for i in ids:
            event, count = self._changed.get(i, (asyncio.Event(), 0))
            self._changed[i] = (event, count + 1)
            events.append(event)
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            for i in ids:
                event, count = self._changed[i]
                if count <= 1 or event.is_set():
                    # Last waiter gone, or fired: the next waiter starts from a fresh event.
                    if count <= 1:
                        del self._changed[i]
                    else:
                        self._changed[i] = (asyncio.Event(), count - 1)
                else:
                    self._changed[i] = (event, count - 1)
