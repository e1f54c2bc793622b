"""The warning header a create answer may carry (issue 16).

``X-Tasktrack-Warning: no-live-worker: …`` on a ``201`` of ``POST /tasks`` (and of a re-run)
when no live worker serves the new task's type: the task was stored and will run once such a
worker starts, but without one it waits forever. A header, not a body field: the body stays
the contract's task, byte for byte. The value starts with a fixed code a client can match;
the rest is for people.
"""

from __future__ import annotations

from starlette.responses import Response

from tasktrack.api.context import ApiContext
from tasktrack.service.workers import UNSERVED_MESSAGE

WARNING_HEADER = "X-Tasktrack-Warning"


async def warn_if_unserved(ctx: ApiContext, response: Response, name: str) -> None:
    """Add the warning to ``response`` when no live worker serves task type ``name``."""
    if await ctx.workers.unserved(name):
        response.headers[WARNING_HEADER] = UNSERVED_MESSAGE
