"""The scheduler: creates the due slots' tasks of every periodic schedule.

Every worker runs one (no leader to elect, nothing to wire). Each may try the same slot;
the store creates its task once (:meth:`~tasktrack.storage.base.TaskStore.create_for_slot`,
a uniqueness constraint on (schedule, slot)), so the number of schedulers changes only how
many attempts lose, never how many tasks there are.

**Who owns periodic tasks.** A schedule names its organisation (``org=``, an id or a name);
without one, tasks go to the organisation of the ``TASKTRACK_PERIODIC_ORG`` setting
(default: ``default``, the organisation ``tasktrack`` creates on first start). They are
created by the scheduler's fixed user id :data:`SCHEDULER_USER` (``createdBy``), which no
credential can act as.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from tasktrack.domain.identity import Principal
from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument, NotFound, TaskTrackError
from tasktrack.service.identity import IdentityService
from tasktrack.service.periodic import Schedule
from tasktrack.service.tasks import TaskService

log = logging.getLogger("tasktrack.scheduler")

#: ``createdBy`` of periodic tasks: no user has this id.
SCHEDULER_USER = "0" * 24
#: Longest sleep between two passes, so a clock jump or a schedule far off is re-read.
MAX_SLEEP = 30.0
#: Resolves an organisation id or name to its id (NotFound otherwise).
OrgResolver = Callable[[str], Awaitable[str]]


def resolver_of(identity: IdentityService) -> OrgResolver:
    """Resolve organisations by id or name through ``identity``."""

    async def resolve(ref: str) -> str:
        return (await identity.find_organisation(ref)).id

    return resolve


def slot_iso(slot: float) -> str:
    """The slot as the ``scheduledFor`` value its task's data carries."""
    return datetime.fromtimestamp(slot, UTC).isoformat().replace("+00:00", "Z")


class Scheduler:
    """Creates the tasks of ``schedules`` as their slots fall due."""

    def __init__(
        self,
        tasks: TaskService,
        schedules: Sequence[Schedule],
        resolve_org: OrgResolver,
        default_org: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tasks = tasks
        self.schedules = list(schedules)
        self.resolve_org = resolve_org
        self.default_org = default_org
        self.clock = clock
        self._last: dict[str, float] | None = None
        self._orgs: dict[str, str] = {}
        self._refusals: set[str] = set()

    async def step(self) -> None:
        """One pass, then sleep until the next slot (a supervised loop's step)."""
        await asyncio.sleep(await self.run_due())

    async def run_due(self) -> float:
        """Create every due slot's task; returns the seconds until the next slot."""
        if self._last is None:
            runs = await self.tasks.store.last_runs([s.key for s in self.schedules])
            self._last = {key: slot for key, (slot, _) in runs.items()}
        now = self.clock()
        for schedule in self.schedules:
            try:
                for slot in schedule.due(self._last.get(schedule.key), now):
                    await self._create(schedule, slot)
                    self._last[schedule.key] = slot
            except (InvalidArgument, NotFound) as exc:
                self._refused(schedule, exc)
        return self._sleep(self.clock())

    def _refused(self, schedule: Schedule, exc: TaskTrackError) -> None:
        """A schedule that cannot create its task (its organisation does not exist, its data
        fails the type's validation) must not hold up the others; said once per process,
        not once per slot."""
        if schedule.key not in self._refusals:
            self._refusals.add(schedule.key)
            log.error("schedule %s cannot create its task: %s", schedule.key, exc.message)

    def _sleep(self, now: float) -> float:
        upcoming = (s.next_after(now) for s in self.schedules)
        return max(min(min(upcoming, default=now + MAX_SLEEP) - now, MAX_SLEEP), 0.0)

    async def _create(self, schedule: Schedule, slot: float) -> Task | None:
        org_id = await self._org(schedule.org or self.default_org)
        data = {**schedule.data, "scheduledFor": slot_iso(slot)}
        task = self.tasks.build(
            Principal(SCHEDULER_USER, org_id, via="internal"), schedule.task, data
        )
        created = await self.tasks.store.create_for_slot(schedule.key, slot, task)
        if created is not None:
            log.info(
                "schedule %s: slot %s created task %s", schedule.key, data["scheduledFor"], task.id
            )
        return created

    async def _org(self, ref: str) -> str:
        if ref not in self._orgs:
            self._orgs[ref] = await self.resolve_org(ref)
        return self._orgs[ref]
