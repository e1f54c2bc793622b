"""The worker's child processes: idle ones wait here, killed ones are replaced.

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
        self._idle: list[ChildProcess] = []
        self._freed = asyncio.Event()
        self._restarts: set[asyncio.Task[None]] = set()
        #: Set at shutdown: killed children stay dead.
        self.closing = False

    def __len__(self) -> int:
        return len(self._children)

    @property
    def idle(self) -> int:
        """Children free to take a task now."""
        return len(self._idle)

    async def start(self) -> None:
        await asyncio.gather(*(c.start() for c in self._children))
        self._idle = list(self._children)

    async def wait_idle(self) -> None:
        """Return once a child is free."""
        while not self._idle:
            self._freed.clear()
            await self._freed.wait()

    def take(self) -> ChildProcess:
        return self._idle.pop()

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
        self._idle.append(child)
        self._freed.set()
