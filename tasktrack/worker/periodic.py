"""The worker's scheduler loop: every worker runs the registry's periodic schedules
(:mod:`tasktrack.service.scheduler`); the store keeps them to one task per slot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tasktrack.domain.ids import is_valid_id
from tasktrack.errors import NotFound
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import OrgResolver, Scheduler
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import TaskStore
from tasktrack.worker.options import WorkerOptions
from tasktrack.worker.supervise import forever


async def ids_only(ref: str) -> str:
    """The resolver without an identity store: organisations given by id only."""
    if not is_valid_id(ref):
        raise NotFound(f"organisation {ref!r}: name it by id (no identity store here)")
    return ref


def start_scheduler(
    store: TaskStore,
    registry: TaskRegistry,
    options: WorkerOptions,
    clock: Callable[[], float],
    resolve_org: OrgResolver | None,
) -> list[asyncio.Task[None]]:
    """The scheduler loop, if the registry declares schedules."""
    schedules = registry.schedules()
    if not schedules:
        return []
    service = TaskService(store, registry, clock)
    scheduler = Scheduler(service, schedules, resolve_org or ids_only, options.periodic_org, clock)
    return [asyncio.create_task(forever("scheduler", scheduler.step))]
