"""``GET /schedules`` (ours, issue 14): the periodic schedules the caller's organisation owns,
each with its next slot and last run. JSON (HAL adds a self link); 406 otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.context import context_of
from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.routes.common import NotAcceptable, guarded
from tasktrack.service.schedule_views import ScheduleView, schedules_of
from tasktrack.service.scheduler import resolver_of

_TYPES = ("application/hal+json", "application/json")


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def schedule_body(view: ScheduleView) -> dict[str, Any]:
    """One schedule's wire shape."""
    s = view.schedule
    return {
        "key": s.key,
        "task": s.task,
        "cron": s.cron,
        "timezone": s.timezone,
        "data": dict(s.data),
        "nextRun": _iso(view.next_run),
        "lastRun": _iso(view.last_run),
        "lastTaskId": view.last_task_id,
    }


@guarded
async def list_schedules(request: Request) -> Response:
    """``GET /schedules``: ``{"items": [...], "total": n}``."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    media = choose_media_type(request.headers.get("accept"))
    if media not in _TYPES:
        raise NotAcceptable("this resource is served as application/hal+json and application/json")
    views = await schedules_of(
        principal,
        ctx.tasks.registry.schedules(),
        ctx.tasks.store,
        resolver_of(ctx.identity),
        ctx.settings.periodic_org,
        ctx.tasks.clock(),
    )
    body: dict[str, Any] = {"items": [schedule_body(v) for v in views], "total": len(views)}
    if media == "application/hal+json":
        body["_links"] = {"self": {"href": request.scope["path"]}}
    return Response(orjson.dumps(body), media_type=media)


def schedule_routes(prefixes: Sequence[str]) -> list[Route]:
    """The schedules route under each of ``prefixes``."""
    return [Route(f"{p}/schedules", list_schedules, methods=["GET"]) for p in prefixes]
