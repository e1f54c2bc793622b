"""Supervision: a background loop of the worker never ends because of an error.

Each loop is written as one *step* (claim once, renew once, reap once); :func:`forever`
repeats it. An exception is logged (with its traceback unless it is one of ours, which
carries its own message) and the step is tried again after a back-off that doubles from
``Backoff.first`` up to ``Backoff.cap`` and resets after a step succeeds, so a database
outage costs a few log lines per second rather than a busy loop or a silent stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tasktrack.errors import StorageError, TaskTrackError

log = logging.getLogger("tasktrack.worker")

Step = Callable[[], Awaitable[None]]
T = TypeVar("T")


class Backoff:
    """Bounded exponential back-off: first, 2·first, 4·first, … up to cap."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        """The delay to wait now; the one after is twice as long (at most ``cap``)."""
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.first


async def forever(name: str, step: Step, backoff: Backoff | None = None) -> None:
    """Run ``step`` until cancelled; failures are logged and retried after a back-off."""
    backoff = backoff or Backoff()
    while True:
        try:
            await step()
        except Exception as exc:
            await _pause(name, exc, backoff.next())
        else:
            backoff.reset()
            await asyncio.sleep(0)  # a step that never waits must not starve the event loop


async def persist(
    write: Callable[[], Awaitable[T]],
    what: str,
    within: float,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = log,
    backoff: Backoff | None = None,
) -> T:
    """Run ``write``; a :class:`StorageError` (the database busy or briefly unreachable) is
    retried after a back-off for up to ``within`` seconds, then raised.

    For the one write that must not be dropped on a blip: an attempt's outcome. Abandoned,
    its task would sit ``active`` until the lease lapsed and then run again, its work done
    twice. Retrying is safe because outcome writes are fenced by the attempt number: if the
    lease is gone meanwhile, the retry is refused (:class:`LeaseLost`, not retried)."""
    backoff = backoff or Backoff(first=0.05, cap=2.0)
    deadline = time.monotonic() + within
    while True:
        try:
            return await write()
        except StorageError as exc:
            delay = backoff.next()
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("%s failed: %s; retrying in %.2fs", what, exc, delay)
            await asyncio.sleep(delay)


async def _pause(name: str, exc: Exception, delay: float) -> None:
    if isinstance(exc, TaskTrackError):  # expected (e.g. database unavailable): one line
        log.error("%s failed: %s; retrying in %.1fs", name, exc, delay)
    else:
        log.error("%s failed unexpectedly; retrying in %.1fs", name, delay, exc_info=exc)
    await asyncio.sleep(delay)
