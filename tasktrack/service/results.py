"""What a task leaves behind, as its callers see it: its result, its details, a re-run.

Every use case takes the caller's Principal and goes through :class:`TaskService` for the
task itself, so another organisation's task is NotFound exactly as a missing one is.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasktrack.domain.identity import Principal
from tasktrack.domain.lifecycle import TERMINAL
from tasktrack.domain.task import Task, TraceContext
from tasktrack.errors import Conflict, Forbidden
from tasktrack.service.tasks import TaskService

#: Most re-run ids a task's details list (newest first).
MAX_RERUNS_LISTED = 100


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """A finished task and its result (JSON text; None when the handler returned nothing,
    or the task did not end done)."""

    task: Task
    value_json: str | None


@dataclass(frozen=True, slots=True)
class TaskDetails:
    """Facts about a task beside its 13 fields: its re-run links and whether it has a result."""

    task: Task
    reruns: list[str]
    has_result: bool
    #: The ``uniqueKey`` it was created with (issue 14), if any.
    unique_key: str | None = None


class ResultService:
    """Results, details and re-runs, on top of a :class:`TaskService`."""

    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks

    async def result(
        self, principal: Principal, task_id: str, project_id: str | None = None
    ) -> TaskOutcome:
        """The finished task's result; Conflict while it is not finished."""
        task = await self.tasks.get(principal, task_id, project_id)
        if task.status not in TERMINAL:
            raise Conflict(
                f"Task {task_id} is {task.status.value}: it has no result until it finishes"
            )
        stored = await self.tasks.store.get_result(task_id)
        return TaskOutcome(task, None if stored is None else stored.value_json)

    async def details(
        self, principal: Principal, task_id: str, project_id: str | None = None
    ) -> TaskDetails:
        """The task with its re-run links (newest first) and whether a result is stored."""
        task = await self.tasks.get(principal, task_id, project_id)
        store = self.tasks.store
        reruns = await store.reruns(task_id, MAX_RERUNS_LISTED)
        has_result = await store.has_result(task_id)
        return TaskDetails(task, reruns, has_result, await store.unique_key_of(task_id))

    async def rerun(
        self,
        principal: Principal,
        task_id: str,
        project_id: str | None = None,
        trace: TraceContext | None = None,
    ) -> Task:
        """A new task with the finished task's name, data and project, linked to it.

        Validated like a create (a task type no longer registered is refused); the original
        stays as it is. Conflict while the original is not finished."""
        if principal.read_only:
            raise Forbidden("this API key is read-only")
        original = await self.tasks.get(principal, task_id, project_id)
        if original.status not in TERMINAL:
            raise Conflict(
                f"Task {task_id} is {original.status.value}: only a finished task can be re-run"
            )
        return await self.tasks.create(
            principal,
            original.name,
            original.data,
            original.project_id,
            rerun_of=original.id,
            trace=trace,
        )
