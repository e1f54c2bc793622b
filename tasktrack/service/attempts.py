"""Reading a task's attempts (issue 13): who ran it, when, and how each run ended."""

from __future__ import annotations

from tasktrack.domain.history import Attempt
from tasktrack.domain.identity import Principal
from tasktrack.domain.ids import is_valid_id
from tasktrack.errors import InvalidArgument, NotFound
from tasktrack.service.tasks import TaskService


async def task_attempts(
    tasks: TaskService, principal: Principal, task_id: str, project_id: str | None = None
) -> list[Attempt]:
    """The attempts of one of the caller's tasks, oldest first (the running one last).

    Raises NotFound for a missing task and for another organisation's (no existence leak).
    """
    if not is_valid_id(task_id):
        raise InvalidArgument(
            f"taskId must be exactly 24 lowercase hex characters, got {task_id[:40]!r}"
        )
    found = await tasks.store.attempts(task_id, tasks.scope(principal, project_id))
    if found is None:
        raise NotFound(f"Task {task_id} not found")
    return found
