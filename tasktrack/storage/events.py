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
        # One bare future per waiter, filed under each id it waits on: a worker's cancel watch
        # waits on every task it holds and starts over whenever one more arrives, so a task
        # (and an asyncio.wait) per id per wait was ~2.5 tasks per task drained (cProfile).
        self._changed: dict[str, list[asyncio.Future[None]]] = {}

    def notify(self, tasks: Iterable[Task]) -> None:
        """Wake whoever waits on these tasks (and claimers, for queued ones)."""
        for task in tasks:
            self.touch(task.id, queued=task.status is Status.QUEUED)

    def touch(self, task_id: str, *, queued: bool = False) -> None:
        for waiter in self._changed.pop(task_id, ()):
            _wake(waiter)
        if queued:
            self._queued.set()

    def wake_queued(self) -> None:
        self._queued.set()

    def wake_all(self) -> None:
        """Wake every waiter (after a gap in notifications, anything may have changed)."""
        self._queued.set()
        waiting, self._changed = self._changed, {}
        for waiters in waiting.values():
            for waiter in waiters:
                _wake(waiter)

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
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        for task_id in ids:
            self._changed.setdefault(task_id, []).append(waiter)
        timer = loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            for task_id in ids:
                waiters = self._changed.get(task_id)
                if waiters is not None and waiter in waiters:
                    waiters.remove(waiter)
                    if not waiters:
                        del self._changed[task_id]


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
