"""The dashboard's overview (issue 16): finished and failed tasks per bucket, run-time
percentiles per task type (both read from the database), and queue depth over time (samples
this process keeps: the database holds no history of how many tasks were queued when).

Everything is the caller's organisation's only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.overview import Durations, FinishedCount
from tasktrack.errors import InvalidArgument
from tasktrack.storage.workers_base import StatsStore

log = logging.getLogger("tasktrack.overview")

#: Buckets per window: a one-hour window is counted per minute.
BUCKETS = 60
#: Longest window, in hours (the depth samples are kept as long).
MAX_HOURS = 24
#: Seconds between two queue-depth samples of the background sampler.
SAMPLE_SECONDS = 10.0
#: Most depth points one answer carries (longer windows are thinned to this).
MAX_POINTS = 360


@dataclass(frozen=True, slots=True)
class DepthSample:
    """Unfinished tasks of one organisation at ``at``: queued, and running (active or
    cancelling)."""

    at: float
    queued: int
    running: int


@dataclass(frozen=True, slots=True)
class Overview:
    """What the overview shows for one organisation and window."""

    since: float
    until: float
    bucket_seconds: int
    finished: list[FinishedCount]
    durations: list[Durations]
    depth: list[DepthSample]


class OverviewService:
    """Reads the overview for a caller; keeps queue-depth samples while :meth:`sampling`."""

    def __init__(self, stats: StatsStore, clock: Callable[[], float] = time.time) -> None:
        self._stats = stats
        self._clock = clock
        self._depth: dict[str, deque[DepthSample]] = {}
        self._keep = int(MAX_HOURS * 3600 / SAMPLE_SECONDS) + 1

    async def overview(self, principal: Principal, hours: int = 1) -> Overview:
        """The caller's organisation over the last ``hours`` (1 to :data:`MAX_HOURS`)."""
        if not 1 <= hours <= MAX_HOURS:
            raise InvalidArgument(f"hours must be between 1 and {MAX_HOURS}")
        until = self._clock()
        bucket = hours * 3600 // BUCKETS
        since = float((int(until) // bucket - BUCKETS + 1) * bucket)  # whole buckets
        org = principal.org_id
        finished = await self._stats.finished_counts(org, since, bucket)
        durations = await self._stats.done_durations(org, until - hours * 3600)
        now = await self._fresh_depth(org, until)
        history = [s for s in self._depth.get(org, ()) if s.at >= since and s.at < now.at]
        return Overview(since, until, bucket, finished, durations, [*_thin(history), now])

    async def _fresh_depth(self, org: str, at: float) -> DepthSample:
        counts = (await self._stats.unfinished_counts()).get(org, {})
        return _sample(at, counts)

    async def sample(self) -> None:
        """Take one depth sample of every organisation (those with none unfinished: zero)."""
        at = self._clock()
        counts = await self._stats.unfinished_counts()
        for org in set(counts) | set(self._depth):
            samples = self._depth.setdefault(org, deque(maxlen=self._keep))
            samples.append(_sample(at, counts.get(org, {})))

    @contextlib.asynccontextmanager
    async def sampling(self, interval: float = SAMPLE_SECONDS) -> AsyncIterator[None]:
        """Sample the queue depth every ``interval`` seconds for the block's duration."""
        task = asyncio.create_task(self._sample_forever(interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sample_forever(self, interval: float) -> None:
        while True:
            try:
                await self.sample()
            except Exception:  # the next sample may succeed; the API keeps serving
                log.warning("queue depth sample failed", exc_info=True)
            await asyncio.sleep(interval)


def _sample(at: float, counts: dict[Status, int]) -> DepthSample:
    running = counts.get(Status.ACTIVE, 0) + counts.get(Status.CANCELLING, 0)
    return DepthSample(at, counts.get(Status.QUEUED, 0), running)


def _thin(samples: list[DepthSample]) -> list[DepthSample]:
    step = max(1, -(-len(samples) // MAX_POINTS))
    return samples[::step]
