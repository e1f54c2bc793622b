"""The worker registry as callers see it (issue 16): who serves what, and whether a new
task's type has a live worker at all.

Workers are shared by every organisation, so any authenticated caller (read scope is enough)
sees every worker: its id, host, pid, state, task types, queues, concurrency and how many
attempts it runs. It sees the *ids* of running attempts only for its own organisation's tasks;
another organisation's attempts are counted, never named.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tasktrack.domain.identity import Principal
from tasktrack.domain.workers import WorkerInfo, WorkerState, live_task_types
from tasktrack.storage.workers_base import WorkerStore

log = logging.getLogger("tasktrack.workers")

#: How long the set of live task types is reused before it is read again. Creating a task
#: asks it every time; two seconds turn a registry read per create into one every two
#: seconds per process, and a worker that starts or dies is noticed that much later.
LIVE_TYPES_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class WorkerView:
    """One worker as a caller may see it: ``info.running`` holds only the caller's own
    organisation's attempts; ``running_count`` counts them all."""

    info: WorkerInfo
    state: WorkerState
    running_count: int


class WorkerService:
    """Lists the registry for a caller and answers "does a live worker serve this type?"."""

    def __init__(
        self,
        store: WorkerStore,
        clock: Callable[[], float] = time.time,
        cache_seconds: float = LIVE_TYPES_SECONDS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._types: frozenset[str] = frozenset()
        self._expires = float("-inf")
        self._lock = asyncio.Lock()

    async def list(self, principal: Principal) -> list[WorkerView]:
        """Every registered worker (live, stopped, dead), most recent heartbeat first."""
        now = self._clock()
        return [_view(w, principal.org_id, now) for w in await self._store.workers()]

    async def live_types(self) -> frozenset[str]:
        """The task types some live worker serves (cached for ``cache_seconds``)."""
        if time.monotonic() < self._expires:
            return self._types
        async with self._lock:  # one read refreshes it for every create waiting meanwhile
            if time.monotonic() >= self._expires:
                workers = await self._store.workers()
                self._types = live_task_types(workers, self._clock())
                self._expires = time.monotonic() + self._cache_seconds
        return self._types

    async def unserved(self, name: str) -> bool:
        """True when no live worker serves ``name``. A registry that cannot be read says
        nothing (False): a warning must never cost a create."""
        try:
            return name not in await self.live_types()
        except Exception:
            log.warning("the worker registry could not be read", exc_info=True)
            return False


def _view(worker: WorkerInfo, org_id: str, now: float) -> WorkerView:
    own = tuple(r for r in worker.running if r.org_id == org_id)
    visible = dataclasses.replace(worker, running=own)
    return WorkerView(visible, worker.state(now), len(worker.running))


#: The warning a create of an unserved type carries. ASCII: it travels in a header, which
#: cannot carry every character a task name may hold (and the client knows the name).
UNSERVED_MESSAGE = (
    "no-live-worker: no live worker serves this task's type, so it stays queued until one "
    "that does starts (see GET /v2.0/workers)"
)
