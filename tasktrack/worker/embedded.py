"""Running a worker inside the API process (``tasktrack serve``'s default)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import OrgResolver
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import TaskStore
from tasktrack.storage.workers_base import WorkerStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.supervise import Step
from tasktrack.worker.worker import Worker


@contextlib.asynccontextmanager
async def embedded_worker(
    store: TaskStore,
    service: TaskService,
    registry: TaskRegistry,
    options: WorkerOptions,
    resolve_org: OrgResolver | None = None,
    loops: Sequence[tuple[str, Step]] = (),
    workers: WorkerStore | None = None,
) -> AsyncIterator[Worker]:
    """Start a worker for the lifetime of the block (with more ``loops``: webhook delivery).

    It shares the API's store object, so tasks created through the API wake it at once.
    """
    worker = Worker(store, registry, options, resolve_org=resolve_org, loops=loops, workers=workers)
    running = asyncio.create_task(worker.run())
    try:
        started = asyncio.create_task(worker.started.wait())
        await asyncio.wait({running, started}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # start-up failed: raise it here
        started.cancel()
        yield worker
    finally:
        worker.stop()
        await running
