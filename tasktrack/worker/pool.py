"""The worker's child processes: idle ones wait here, killed ones are replaced.

Runs waiting for a child (tasks claimed ahead, :mod:`tasktrack.worker.prefetch`) get one in
the order they asked (an :class:`asyncio.Queue`'s getters are served first come, first
served), so a claim's priority order holds within the worker.

A child killed on purpose (timeout, cancel grace, lost lease) is restarted off the hot path,
so the next claim does not wait for a process to spawn. Once the pool is closing (shutdown),
killed children are no longer restarted.
"""

from __future__ import annotations

import asyncio
import logging

from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.process import ChildProcess

log = logging.getLogger("tasktrack.worker")

#: Pause between failed attempts to start a replacement child.
RESTART_PAUSE = 1.0


class ChildPool:
    """``options.concurrency`` reusable child processes."""

    def __init__(self, options: WorkerOptions) -> None:
        self._children = [
            ChildProcess(options.app_modules, options.demo, options.log_level, options.log_format)
            for _ in range(options.concurrency)
        ]
        self._idle: asyncio.Queue[ChildProcess] = asyncio.Queue()
        self._restarts: set[asyncio.Task[None]] = set()
        #: Set at shutdown: killed children stay dead.
        self.closing = False

    def __len__(self) -> int:
        return len(self._children)

    async def start(self) -> None:
        await asyncio.gather(*(c.start() for c in self._children))
        for child in self._children:
            self._idle.put_nowait(child)

    async def acquire(self) -> ChildProcess:
        """An idle child, once one is free (first come, first served). Cancelling the wait
        takes nothing: the child stays for the next one waiting."""
        return await self._idle.get()

    def give_back(self, child: ChildProcess) -> None:
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

    async def _restart(self, child: ChildProcess) -> None:
        while not child.alive and not self.closing:
            try:
                await child.start()
            except Exception as exc:
                log.error("could not start a child process: %s; retrying", exc)
                await asyncio.sleep(RESTART_PAUSE)
        self._put(child)

    def _put(self, child: ChildProcess) -> None:
        self._idle.put_nowait(child)
