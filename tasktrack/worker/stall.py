"""A watch on the worker's event loop, for in-process handlers (docs/in-process.md).

An in-process handler that blocks (CPU work, a sync call) stalls the whole worker: lease
renewals, the cancel watch, every other handler. Nothing can stop it, but an operator should
at least hear of it while it happens, not infer it from a lapsed lease later. A thread (it
runs while the loop cannot) warns once the loop has not turned for ``limit`` seconds, and the
loop says how long the stall lasted when it turns again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

log = logging.getLogger("tasktrack.worker")

#: Seconds the loop may go without turning before the watch warns.
STALL_LIMIT = 2.0


class LoopWatch:
    """Warns about a blocked event loop; :meth:`start` in the loop, :meth:`stop` to end."""

    def __init__(self, limit: float | None = None) -> None:
        self.limit = STALL_LIMIT if limit is None else limit
        self._beat = time.monotonic()
        self._stalled_since: float | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(
            target=self._watch, name="tasktrack-loop-watch", daemon=True
        )

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tick()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _tick(self) -> None:
        now = time.monotonic()
        since = self._stalled_since
        if since is not None:
            self._stalled_since = None
            log.warning("the event loop turns again after %.1fs blocked", now - since)
        self._beat = now
        if not self._stop.is_set() and self._loop is not None:
            self._loop.call_later(self.limit / 4, self._tick)

    def _watch(self) -> None:
        while not self._stop.wait(self.limit / 4):
            silent = time.monotonic() - self._beat
            if silent >= self.limit and self._stalled_since is None:
                self._stalled_since = self._beat
                log.warning(
                    "the event loop has not turned for %.1fs: an in-process handler may be "
                    "blocking it (CPU work or a sync call); leases are not renewed meanwhile",
                    silent,
                )
