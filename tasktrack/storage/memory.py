"""In-memory stores for unit tests and demos. State lives on the instance, never the class.

It passes the same storage contract suite as SQLite and PostgreSQL, so a behaviour
difference is a failing test rather than a surprise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tasktrack.domain.fairness import DEFAULT_QUEUE, Rotation, take_in_turn
from tasktrack.domain.flow import Limits, limited
from tasktrack.domain.history import Attempt, LogLine, Outcome, TaskResult
from tasktrack.domain.lifecycle import (
    RUNNING,
    Status,
    is_terminal,
    sources,
    targets,
    transition,
)
from tasktrack.domain.listing import ListQuery, Page, Scope
from tasktrack.domain.logs import LogEntry
from tasktrack.domain.scheduling import upcoming
from tasktrack.domain.task import Task, TraceContext
from tasktrack.errors import Conflict, InvalidTransition, LeaseLost, NotFound
from tasktrack.storage.attempts import ended_attempt, ending, with_running
from tasktrack.storage.base import SchemaState
from tasktrack.storage.events import LocalEvents
from tasktrack.storage.memory_dedup import DedupState, MemoryDedup
from tasktrack.storage.memory_flow import MemoryFlow
from tasktrack.storage.memory_identity import MemoryIdentityStore
from tasktrack.storage.memory_listing import in_scope, list_page
from tasktrack.storage.memory_logs import MemoryLogs
from tasktrack.storage.memory_workers import MemoryStatsStore, MemoryWorkerStore

#: Where a cancel request leaves a task: asking again there changes nothing.
_CANCEL_SETTLED = frozenset(targets("cancel"))
_CLAIMABLE = frozenset(sources("claim"))
#: The verbs' own columns that belong to an ending (the rest to a requeue).
_ENDING_CHANGES = frozenset({"current_step", "fail_reason"})


def _dt(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


class MemoryTaskStore(MemoryDedup):
    """A :class:`~tasktrack.storage.base.TaskStore` in a dict, guarded by an asyncio lock."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._traces: dict[str, TraceContext] = {}
        self._attempts: dict[str, list[Attempt]] = {}
        self._lock = asyncio.Lock()
        self.events = LocalEvents()
        self._results: dict[str, TaskResult] = {}
        self._logs = MemoryLogs()
        self._dedup = DedupState()
        self._rotations: dict[str, Rotation] = {}
        self._flow = MemoryFlow()

    async def create(self, task: Task, trace: TraceContext | None = None) -> Task:
        async with self._lock:
            if task.id in self._tasks:
                raise Conflict(f"task {task.id} exists")
            self._tasks[task.id] = task
            if trace is not None:
                self._traces[task.id] = trace
            self.events.notify([task])
            return task

    async def trace_context(self, task_id: str) -> TraceContext | None:
        return self._traces.get(task_id) if task_id in self._tasks else None

    async def get(self, task_id: str, scope: Scope | None = None) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None or (scope is not None and not in_scope(task, scope)):
            return None
        return task

    async def list_page(self, query: ListQuery) -> Page:
        return list_page(self._tasks.values(), query)

    async def request_cancel(self, task_id: str, scope: Scope, user_id: str, now: float) -> Task:
        async with self._lock:
            task = await self.get(task_id, scope)
            if task is None:
                raise NotFound(f"Task {task_id} not found")
            if task.status in _CANCEL_SETTLED:
                return task
            try:
                status = transition(task.status, "cancel")
            except InvalidTransition:
                raise Conflict(f"Task {task_id} is already {task.status.value}") from None
            changes: dict[str, Any] = {}
            if is_terminal(status):
                changes = {"last_finished_at": _dt(now), "lease_expires_at": None}
            return self._put(task, now, status=status, last_changed_by=user_id, **changes)

    async def claim(
        self,
        worker_id: str,
        names: Collection[str],
        limit: int,
        lease_seconds: float,
        now: float,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        limits: Mapping[str, Limits] | None = None,
    ) -> list[Task]:
        async with self._lock:
            if limited(names, limits):  # as the SQL store: oldest due first, no lanes
                tasks = self._tasks.values()
                ready = self._flow.claimable(tasks, names, queues, limit, now, limits)
            else:
                queued = (t for t in self._tasks.values() if t.status in _CLAIMABLE)
                rotation = self._rotations.setdefault(worker_id, Rotation())
                ready = take_in_turn(queued, _ready(names, now), rotation, queues, limit)
            return [
                self._put(
                    t,
                    now,
                    status=transition(t.status, "claim"),
                    attempts=t.attempts + 1,
                    worker_id=worker_id,
                    lease_expires_at=now + lease_seconds,
                    last_run_at=_dt(now),
                    current_step=0,
                )
                for t in ready
            ]

    async def renew_leases(
        self, worker_id: str, claims: Collection[tuple[str, int]], lease_seconds: float, now: float
    ) -> dict[str, Status]:
        async with self._lock:
            held: dict[str, Status] = {}
            for task_id, attempt in claims:
                task = self._tasks.get(task_id)
                if task and task.attempts == attempt and task.status in RUNNING:
                    # Not a user-visible change: keep version and lastChanged as they are.
                    self._tasks[task_id] = task.evolve(lease_expires_at=now + lease_seconds)
                    held[task_id] = task.status
            return held

    async def record_progress(
        self, task_id: str, attempt: int, current_step: int, total_step: int, now: float
    ) -> Status:
        async with self._lock:
            task = self._fenced(task_id, attempt)
            total = max(total_step, current_step)
            if (task.current_step, task.total_step) != (current_step, total):
                task = self._put(task, now, current_step=current_step, total_step=total)
            return task.status

    async def finish(
        self, task_id: str, attempt: int, now: float, result_json: str | None = None
    ) -> Task:
        async with self._lock:
            task = self._fenced(task_id, attempt)
            done = self._move(task, "finish", now, current_step=task.total_step)
            if result_json is not None:
                self._results[task_id] = TaskResult(task_id, attempt, result_json, now)
            return done

    async def fail(
        self,
        task_id: str,
        attempt: int,
        reason: str,
        now: float,
        outcome: Outcome = Outcome.ERROR,
    ) -> Task:
        async with self._lock:
            task = self._fenced(task_id, attempt)
            return self._move(task, "fail", now, (outcome, reason), fail_reason=reason)

    async def stop(self, task_id: str, attempt: int, now: float) -> Task:
        return await self._fenced_move(task_id, attempt, "stop", now)

    async def retry(
        self, task_id: str, attempt: int, run_after: float, now: float, reason: str = ""
    ) -> Task:
        async with self._lock:
            task = self._fenced(task_id, attempt)
            return self._move(task, "retry", now, (None, reason), run_after=run_after)

    async def release(self, task_id: str, attempt: int, now: float) -> Task:
        async with self._lock:
            task = self._fenced(task_id, attempt)
            return self._move(task, "release", now, max_attempts=task.max_attempts + 1)

    async def expire_leases(self, now: float, lost_reason: str) -> list[Task]:
        async with self._lock:
            stale = [t for t in self._tasks.values() if _stale(t, now)]
            return [self._expire(t, now, lost_reason) for t in stale]

    def _expire(self, task: Task, now: float, lost_reason: str) -> Task:
        if task.status is Status.ACTIVE and task.attempts >= task.max_attempts:
            return self._move(task, "lose", now, (None, lost_reason), fail_reason=lost_reason)
        return self._move(task, "expire", now, (None, lost_reason))

    async def statuses(self, task_ids: Collection[str]) -> dict[str, Status]:
        return {i: self._tasks[i].status for i in task_ids if i in self._tasks}

    async def count_by_status(self) -> dict[Status, int]:
        return {s: sum(t.status is s for t in self._tasks.values()) for s in Status}

    async def upcoming(
        self, scope: Scope, now: float, after: tuple[float, str] | None, limit: int
    ) -> list[Task]:
        return upcoming(self._tasks.values(), scope, now, after, limit)

    async def next_due(self, now: float) -> float | None:
        due = (t.run_after for t in self._tasks.values() if t.status in _CLAIMABLE)
        return min((d for d in due if d > now), default=None)

    async def compact_counts(self) -> int:
        return 0  # lists count the matching tasks directly

    async def wait_queued(self, timeout: float) -> None:
        await self.events.wait_queued(timeout)

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        await self.events.wait_changed(task_ids, timeout)

    async def close(self) -> None:
        return None

    # -- results and re-runs (issue 13) -----------------------------------------------------

    async def get_result(self, task_id: str) -> TaskResult | None:
        return self._results.get(task_id) if task_id in self._tasks else None

    async def has_result(self, task_id: str) -> bool:
        return task_id in self._results and task_id in self._tasks

    async def reruns(self, task_id: str, limit: int) -> list[str]:
        found = [t for t in self._tasks.values() if t.rerun_of == task_id]
        found.sort(key=lambda t: (t.created_at, t.id), reverse=True)
        return [t.id for t in found[:limit]]

    async def attempts(self, task_id: str, scope: Scope | None = None) -> list[Attempt] | None:
        task = await self.get(task_id, scope)
        if task is None:
            return None
        return with_running(self._attempts.get(task_id, []), task)

    async def append_logs(
        self, task_id: str, attempt: int, lines: Sequence[LogEntry], dropped: int = 0
    ) -> None:
        if lines and task_id in self._tasks:
            self._logs.append(task_id, attempt, lines, dropped)
            self.events.touch(task_id)

    async def logs(self, task_id: str, after: int = 0, limit: int = 100) -> list[LogLine]:
        return self._logs.read(task_id, after, limit)

    # -- helpers -------------------------------------------------------------------------

    def _fenced(self, task_id: str, attempt: int) -> Task:
        task = self._tasks.get(task_id)
        if task is None or task.attempts != attempt or task.status not in RUNNING:
            raise LeaseLost(f"attempt {attempt} of task {task_id} no longer holds it")
        return task

    async def _fenced_move(
        self, task_id: str, attempt: int, verb: str, now: float, **changes: Any
    ) -> Task:
        async with self._lock:
            return self._move(self._fenced(task_id, attempt), verb, now, **changes)

    def _move(
        self,
        task: Task,
        verb: str,
        now: float,
        why: tuple[Outcome | None, str] = (None, ""),
        **changes: Any,
    ) -> Task:
        """Apply ``verb`` by the lifecycle table and record the attempt it ends (``why``: an
        outcome overriding the verb's own, and the reason). ``changes`` are the verb's own
        columns, written only when it leads where they belong (as the SQL stores'
        per-target statements do): a terminal status, or a queued one for a retry or
        release (which also restarts progress at 0)."""
        try:
            status = transition(task.status, verb)
        except InvalidTransition as exc:
            raise LeaseLost(str(exc)) from None
        outcome = ending(verb, status, why[0])
        self._attempts.setdefault(task.id, []).append(ended_attempt(task, now, outcome, why[1]))
        if is_terminal(status):
            ended = {"last_finished_at": _dt(now), "lease_expires_at": None}
            own = {k: v for k, v in changes.items() if k in _ENDING_CHANGES}
            return self._put(task, now, status=status, **ended, **own)
        own = {k: v for k, v in changes.items() if k not in _ENDING_CHANGES}
        return self._put(task, now, status=status, lease_expires_at=None, current_step=0, **own)

    def _put(self, task: Task, now: float, **changes: Any) -> Task:
        new = task.evolve(last_changed=int(now), version=task.version + 1, **changes)
        self._tasks[task.id] = new
        self.events.notify([new])
        return new

    # -- retention (issue 13) ------------------------------------------------------------

    async def delete(self, task_id: str, scope: Scope) -> Task:
        async with self._lock:
            task = await self.get(task_id, scope)
            if task is None:
                raise NotFound(f"Task {task_id} not found")
            if not is_terminal(task.status):
                raise Conflict(
                    f"Task {task_id} is {task.status.value}: only a finished task can be deleted"
                )
            return self._forget(task_id)

    def _forget(self, task_id: str) -> Task:
        """Drop a task with what it left behind (the SQL stores' ON DELETE CASCADE)."""
        self._results.pop(task_id, None)
        self._attempts.pop(task_id, None)
        self._logs.forget(task_id)
        return self._tasks.pop(task_id)

    async def prune(self, status: Status, finished_before: float, limit: int) -> int:
        async with self._lock:
            oldest = sorted(self._prunable(status, finished_before), key=_finished_key)
            for task in oldest[: max(limit, 0)]:
                self._forget(task.id)
            return min(len(oldest), max(limit, 0))

    async def count_finished(self, status: Status, finished_before: float) -> int:
        return len(self._prunable(status, finished_before))

    def _prunable(self, status: Status, finished_before: float) -> list[Task]:
        if not is_terminal(status):
            raise ValueError(f"only finished tasks are pruned, not {status.value}")
        return [
            t
            for t in self._tasks.values()
            if t.status is status and _finished_key(t) < finished_before
        ]


def _finished_key(task: Task) -> float:
    return -1.0 if task.last_finished_at is None else task.last_finished_at.timestamp()


def _ready(names: Collection[str], now: float) -> Callable[[Task], bool]:
    return lambda task: task.run_after <= now and task.name in names


def _stale(task: Task, now: float) -> bool:
    lease = task.lease_expires_at
    return task.status in RUNNING and lease is not None and lease < now


class MemoryStores:
    """Both in-memory stores, for ``memory://``."""

    def __init__(self) -> None:
        self.tasks = MemoryTaskStore()
        self.identity = MemoryIdentityStore()
        self.workers = MemoryWorkerStore()
        self.stats = MemoryStatsStore(lambda: self.tasks._tasks.values())

    async def probe(self) -> SchemaState:
        return SchemaState(0, 0)  # no schema: always current

    async def close(self) -> None:
        return None
