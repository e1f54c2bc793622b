"""``GET /scheduled-tasks`` (issue 14, ours): the caller's queued tasks that wait for their
runAt (or a retry's back-off), soonest first: the dashboard's "Scheduled" view.

JSON only (a small list of its own shape, like ``/health``); pages by keyset: ``next`` is
the position after the last item, opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.context import context_of
from tasktrack.api.routes.common import guarded
from tasktrack.api.routes.results import due_text
from tasktrack.domain.ids import is_valid_id
from tasktrack.domain.listing import DEFAULT_LIMIT
from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument


def scheduled_fields(task: Task) -> dict[str, Any]:
    """One waiting task as the list shows it."""
    return {
        "_id": task.id,
        "name": task.name,
        "runAt": due_text(task.run_after),
        "priority": task.priority,
        "queue": task.queue,
        "createdAt": task.created_at,
        "attempts": task.attempts,
    }


def encode_position(task: Task) -> str:
    return position_token(task.run_after, task.id)


def position_token(due: float, task_id: str) -> str:
    """The ``next`` token of the position after a task due at ``due`` with id ``task_id``."""
    raw = orjson.dumps([due, task_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(token: str) -> tuple[float, str]:
    """The keyset position a ``next`` token names; InvalidArgument naming ``next``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        due, task_id = orjson.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidArgument("next is not a position this list handed out") from None
    if not isinstance(due, int | float) or not isinstance(task_id, str) or not is_valid_id(task_id):
        raise InvalidArgument("next is not a position this list handed out")
    return float(due), task_id


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"limit must be an integer, got {raw[:40]!r}") from None


@guarded
async def list_scheduled(request: Request) -> Response:
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    params = request.query_params
    limit = _limit(params.get("limit"))
    token = params.get("next")
    after = None if token is None else decode_position(token)
    # The service checks the range of limit and the projectId (400s naming them).
    tasks = await ctx.tasks.scheduled(principal, limit, after, params.get("projectId"))
    nxt = encode_position(tasks[-1]) if len(tasks) == limit else None
    body = {"items": [scheduled_fields(t) for t in tasks], "next": nxt}
    return Response(orjson.dumps(body), media_type="application/json")


def scheduled_routes(prefixes: Sequence[str]) -> list[Route]:
    return [
        Route(f"{prefix}/scheduled-tasks", list_scheduled, methods=["GET"]) for prefix in prefixes
    ]
