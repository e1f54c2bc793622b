"""TaskService: the one place every adapter (API, CLI, worker, dashboard) goes through.

Every use case takes the caller's :class:`~tasktrack.domain.identity.Principal` and is scoped
to its organisation; nothing here knows HTTP or SQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasktrack.domain.dedup import Created, Dedup
from tasktrack.domain.identity import Principal
from tasktrack.domain.ids import is_valid_id, new_id
from tasktrack.domain.lifecycle import TERMINAL, Status
from tasktrack.domain.listing import ListQuery, Page, Scope
from tasktrack.domain.scheduling import check_priority, due_time
from tasktrack.domain.task import Task, TraceContext
from tasktrack.errors import Forbidden, InvalidArgument, NotFound
from tasktrack.service.limits import check_data
from tasktrack.service.registry import TaskRegistry
from tasktrack.storage.base import TaskStore

Clock = Callable[[], float]


def _never() -> bool:
    return False


#: Most tasks one page of the scheduled view holds.
MAX_SCHEDULED_PAGE = 100
#: Longest ``?wait=`` a read may ask for, in seconds.
MAX_WAIT = 60.0
#: How long an ``Idempotency-Key`` is remembered by default (the IETF draft's example: 24 h).
IDEMPOTENCY_TTL = 86400.0


@dataclass(frozen=True, slots=True)
class Schedule:
    """A create's scheduling options, as the client gave them (checked by ``create``):
    ``run_at`` (ISO 8601 text or Unix seconds) or ``delay_seconds``, and a priority
    overriding the task type's."""

    run_at: Any = None
    delay_seconds: Any = None
    priority: Any = None


class TaskService:
    """Create, read, list and cancel tasks for a caller.

    Args:
        store: where tasks live.
        registry: the task types ``create`` accepts.
        clock: the time source (tests pass a fake).
    """

    def __init__(self, store: TaskStore, registry: TaskRegistry, clock: Clock = time.time) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.wait_poll_interval = 0.1
        #: True once the server is shutting down: long polls then answer at their next look
        #: instead of holding the shutdown up until their ``wait`` runs out. The API sets it.
        self.stopping: Callable[[], bool] = _never
        #: Seconds an idempotency record answers replays (Settings.idempotency_ttl).
        self.idempotency_ttl = IDEMPOTENCY_TTL

    async def create(
        self,
        principal: Principal,
        name: str,
        data: Mapping[str, Any] | None = None,
        project_id: str | None = None,
        rerun_of: str | None = None,
        trace: TraceContext | None = None,
        schedule: Schedule | None = None,
    ) -> Task:
        """Enqueue a task of a registered type; returns it once durably stored.

        ``rerun_of``: the id of the task this one re-runs (see :mod:`.results`); ``trace``:
        the creating request's W3C trace context, kept for its attempts' spans (issue 16);
        ``schedule``: when it may run and its priority (default: now, the type's)."""
        task = self.build(principal, name, data, project_id, rerun_of, schedule)
        return await self.store.create(task, trace)

    async def submit(
        self,
        principal: Principal,
        name: str,
        data: Mapping[str, Any] | None = None,
        project_id: str | None = None,
        dedup: Dedup | None = None,
        trace: TraceContext | None = None,
        schedule: Schedule | None = None,
    ) -> Created:
        """:meth:`create`, deduplicated by ``dedup``'s keys (see :mod:`tasktrack.domain.dedup`);
        an idempotency record lives :attr:`idempotency_ttl` seconds."""
        task = self.build(principal, name, data, project_id, schedule=schedule)
        if not dedup:
            return Created(await self.store.create(task, trace))
        born_after = self.clock() - self.idempotency_ttl
        return await self.store.create_deduplicated(task, dedup, born_after, trace)

    def build(
        self,
        principal: Principal,
        name: str,
        data: Mapping[str, Any] | None = None,
        project_id: str | None = None,
        rerun_of: str | None = None,
        schedule: Schedule | None = None,
    ) -> Task:
        """A new queued task for ``principal``, validated, not yet stored."""
        _require_write(principal)
        task_type = self.registry.get(name)
        payload = dict(data or {})
        check_data(payload)
        if task_type.validate is not None:
            task_type.validate(payload)
        if project_id is not None and not is_valid_id(project_id):
            raise InvalidArgument("projectId must be 24 lowercase hex characters")
        now = self.clock()
        plan = schedule or Schedule()
        return Task(
            id=new_id(now),
            name=name,
            data=payload,
            status=Status.QUEUED,
            org_id=principal.org_id,
            project_id=project_id,
            created_by=principal.user_id,
            created_at=int(now),
            last_changed=int(now),
            last_changed_by=principal.user_id,
            total_step=task_type.initial_total(payload),
            max_attempts=task_type.max_attempts,
            run_after=due_time(plan.run_at, plan.delay_seconds, now),
            rerun_of=rerun_of,
            priority=task_type.priority if plan.priority is None else check_priority(plan.priority),
            queue=task_type.queue,
            concurrency_key=task_type.key_of(payload),
        )

    async def get(self, principal: Principal, task_id: str, project_id: str | None = None) -> Task:
        """The task, or NotFound (also for another organisation's task: no existence leak)."""
        _check_id(task_id)
        task = await self.store.get(task_id, Scope(principal.org_id, project_id))
        if task is None:
            raise NotFound(f"Task {task_id} not found")
        return task

    async def list(self, principal: Principal, query: ListQuery) -> Page:
        """One page of the caller's tasks. ``query.scope`` must be the caller's organisation."""
        if query.scope.org_id != principal.org_id:
            raise Forbidden("a list is scoped to the caller's organisation")
        return await self.store.list_page(query)

    async def cancel(
        self, principal: Principal, task_id: str, project_id: str | None = None
    ) -> Task:
        """Ask for a task to stop: queued → cancelled now, active → cancelling.

        Raises NotFound, or Conflict when the task already ended done or error.
        """
        _require_write(principal)
        _check_id(task_id)
        return await self.store.request_cancel(
            task_id, Scope(principal.org_id, project_id), principal.user_id, self.clock()
        )

    async def wait_for_change(
        self,
        principal: Principal,
        task_id: str,
        seen_version: int | None,
        timeout: float,
        project_id: str | None = None,
    ) -> Task:
        """The task once its version differs from ``seen_version``, or after ``timeout``.

        With ``seen_version`` None the baseline is the task as it is now. Wakes on the
        store's change signal and re-reads at least every :attr:`wait_poll_interval` seconds
        (a cheap primary-key read), so it works across processes and hosts for every backend.
        """
        if not 0 <= timeout <= MAX_WAIT:
            raise InvalidArgument(f"wait must be between 0 and {MAX_WAIT:g} seconds")
        task = await self.get(principal, task_id, project_id)
        baseline = task.version if seen_version is None else seen_version
        deadline = asyncio.get_running_loop().time() + timeout
        # A terminal task never changes again: waiting on it would only burn the timeout.
        while task.version == baseline and task.status not in TERMINAL:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or self.stopping():
                break
            await self.store.wait_changed([task_id], min(self.wait_poll_interval, remaining))
            task = await self.get(principal, task_id, project_id)
        return task

    async def scheduled(
        self,
        principal: Principal,
        limit: int,
        after: tuple[float, str] | None = None,
        project_id: str | None = None,
    ) -> Sequence[Task]:
        """The caller's queued tasks waiting for their runAt (or a retry's back-off), soonest
        first, after the keyset position ``after`` (due time, id)."""
        if not 1 <= limit <= MAX_SCHEDULED_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_SCHEDULED_PAGE}")
        scope = self.scope(principal, project_id)
        return await self.store.upcoming(scope, self.clock(), after, limit)

    def scope(self, principal: Principal, project_id: str | None = None) -> Scope:
        if project_id is not None and not is_valid_id(project_id):
            raise InvalidArgument("projectId must be 24 lowercase hex characters")
        return Scope(principal.org_id, project_id)

    async def delete(
        self, principal: Principal, task_id: str, project_id: str | None = None
    ) -> Task:
        """Delete one of the caller's finished tasks with its result, attempts and logs;
        returns it as it was. Forbidden for read-only credentials, NotFound for a missing or
        another organisation's task, Conflict while it is not finished (issue 13)."""
        _require_write(principal)
        _check_id(task_id)
        return await self.store.delete(task_id, self.scope(principal, project_id))


def _check_id(task_id: str) -> None:
    if not is_valid_id(task_id):
        raise InvalidArgument(
            f"taskId must be exactly 24 lowercase hex characters, got {task_id[:40]!r}"
        )


def _require_write(principal: Principal) -> None:
    if principal.read_only:
        credential = "access token" if principal.via == "bearer" else "API key"
        raise Forbidden(f"this {credential} is read-only")
