"""The worker's child processes: idle ones wait here, killed ones are replaced.

Runs waiting for a child (tasks claimed ahead, :mod:`tasktrack.worker.prefetch`) get one in
the order they asked (first come, first served), so a claim's priority order holds within
the worker. A request is a bare future, not a task: at thousands of tasks a second, a task and
an ``asyncio.wait`` per request were a measurable share of the event loop's CPU.

A child killed on purpose (timeout, cancel grace, lost lease) is restarted off the hot path,
so the next claim does not wait for a process to spawn. Once the pool is closing (shutdown),
killed children are no longer restarted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from tasktrack.service.registry import TaskRegistry
from tasktrack.worker.inline import InlineSlot
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.process import ChildProcess, Slot

log = logging.getLogger("tasktrack.worker")

#: Pause between failed attempts to start a replacement child.
RESTART_PAUSE = 1.0


class ChildPool:
    """``options.concurrency`` reusable slots: child processes, or in-process slots
    (:mod:`tasktrack.worker.inline`) when ``options.in_process``."""

    def __init__(self, options: WorkerOptions, registry: TaskRegistry | None = None) -> None:
        """``registry``: for in-process slots (``options.in_process``) instead of children."""
        self._children = [self._slot(options, registry) for _ in range(options.concurrency)]
        self._idle: deque[Slot] = deque()
        #: Requests not yet served, oldest first; one resolved elsewhere (None: the run
        #: stopped waiting) or cancelled is skipped.
        self._waiters: deque[asyncio.Future[Slot | None]] = deque()
        self._restarts: set[asyncio.Task[None]] = set()
        #: Set at shutdown: killed children stay dead.
        self.closing = False

    @staticmethod
    def _slot(options: WorkerOptions, registry: TaskRegistry | None) -> Slot:
        if options.in_process:
            if registry is None:
                raise ValueError("in-process slots need the registry")
            return InlineSlot(registry, options.log_level)
        return ChildProcess(
            options.app_modules, options.demo, options.log_level, options.log_format
        )

    def __len__(self) -> int:
        return len(self._children)

    async def start(self) -> None:
        await asyncio.gather(*(c.start() for c in self._children))
        for child in self._children:
            self._put(child)

    def request(self) -> asyncio.Future[Slot | None]:
        """A future that gets an idle child once one is free (first come, first served);
        already done if one is idle now. Whoever asked may resolve it with None or cancel it
        to stop waiting: the next child then goes to the next request."""
        waiter: asyncio.Future[Slot | None] = asyncio.get_running_loop().create_future()
        if self._idle and not self._waiters:
            waiter.set_result(self._idle.popleft())
        else:
            self._waiters.append(waiter)
        return waiter

    def give_back(self, child: Slot) -> None:
        """A run ended on ``child``: reuse it, or replace it if it was killed."""
        if child.alive or self.closing:
            self._put(child)
            return
        restart = asyncio.create_task(self._restart(child))
        self._restarts.add(restart)
        restart.add_done_callback(self._restarts.discard)

    async def stop(self) -> None:
        """Stop every child (after any replacement under way has settled)."""
        self.closing = True
        await asyncio.gather(*self._restarts, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in self._children), return_exceptions=True)

    async def _restart(self, child: Slot) -> None:
        while not child.alive and not self.closing:
            try:
                await child.start()
            except Exception as exc:
                log.error("could not start a child process: %s; retrying", exc)
                await asyncio.sleep(RESTART_PAUSE)
        self._put(child)

    def _put(self, child: Slot) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(child)
                return
        self._idle.append(child)
