"""Task types with periodic schedules, for the scheduler tests (issue 14)."""

from __future__ import annotations

from typing import Any

from tasktrack.service.registry import TaskRegistry

registry = TaskRegistry()


@registry.periodic("* * * * * *", name="test.every_second", data={"kind": "tick"})
def every_second(data: dict[str, Any], ctx: Any) -> str:
    """Runs once per second: returns the slot it ran for."""
    return str(data["scheduledFor"])
