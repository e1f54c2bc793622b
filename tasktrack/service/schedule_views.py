"""What ``tasktrack schedules list``, ``GET /v2.0/schedules`` and the dashboard show of the
periodic schedules: each with its next slot and its last run.

A caller sees only the schedules whose tasks its organisation owns (the schedule's ``org``,
else ``TASKTRACK_PERIODIC_ORG``); a schedule whose organisation does not exist is shown to
no one (its scheduler logs the error).
"""

from __future__ import annotations

from dataclasses import dataclass

from tasktrack.domain.identity import Principal
from tasktrack.errors import NotFound
from tasktrack.service.periodic import Schedule
from tasktrack.service.scheduler import OrgResolver
from tasktrack.storage.base import TaskStore


@dataclass(frozen=True, slots=True)
class ScheduleView:
    schedule: Schedule
    #: The next slot after now (Unix seconds).
    next_run: float
    #: The latest slot that got its task, and that task's id; None if it never ran.
    last_run: float | None
    last_task_id: str | None


async def schedules_of(
    principal: Principal,
    schedules: list[Schedule],
    store: TaskStore,
    resolve_org: OrgResolver,
    default_org: str,
    now: float,
) -> list[ScheduleView]:
    """The schedules ``principal``'s organisation owns, by key."""
    owned = [s for s in schedules if await _owner(s, resolve_org, default_org) == principal.org_id]
    runs = await store.last_runs([s.key for s in owned])
    return [ScheduleView(s, s.next_after(now), *runs.get(s.key, (None, None))) for s in owned]


async def _owner(schedule: Schedule, resolve_org: OrgResolver, default_org: str) -> str | None:
    try:
        return await resolve_org(schedule.org or default_org)
    except NotFound:
        return None
