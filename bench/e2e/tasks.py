"""The benchmark's task type: a no-op, imported by the worker's child processes by module name
(``tasktrack worker --app bench.e2e.tasks``, run with the repository root as the working
directory)."""

from __future__ import annotations

from typing import Any

from tasktrack import TaskContext, TaskRegistry

NAME = "bench.noop"
registry = TaskRegistry()


@registry.task(NAME)
def noop(data: dict[str, Any], ctx: TaskContext) -> None:
    """Does nothing: the benchmark measures the runtime, not the work."""
    return None
