"""``GET /tasks/{taskId}/attempts`` (issue 13): a task's attempts, oldest first.

JSON, HAL (adds ``_links.self`` and ``_links.task``) and XML (``<attempts>`` with
``<items>`` of ``<attempt>``); CSV is a 406, as is anything else not acceptable.
"""

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
from tasktrack.api.renderers.xml import xml_document
from tasktrack.api.representation import rfc3339
from tasktrack.api.routes.common import NotAcceptable, guarded, prefix_of
from tasktrack.domain.history import Attempt
from tasktrack.service.attempts import task_attempts

#: The media types a history document is served as (CSV has no room for its shape).
_DOCUMENT_TYPES = {
    "application/hal+json": "application/hal+json",
    "application/json": "application/json",
    "application/xml": "application/xml; charset=utf-8",
    "text/xml": "text/xml; charset=utf-8",
}


def _time(value: float | None) -> str | None:
    return None if value is None else rfc3339(datetime.fromtimestamp(value, UTC))


def attempt_fields(attempt: Attempt) -> dict[str, Any]:
    """One attempt as the wire shows it (camelCase; times ISO 8601 UTC like lastRunAt)."""
    duration = attempt.duration
    return {
        "attempt": attempt.number,
        "workerId": attempt.worker_id,
        "startedAt": _time(attempt.started_at),
        "endedAt": _time(attempt.ended_at),
        "outcome": attempt.outcome.value,
        "reason": attempt.reason,
        "durationMs": None if duration is None else round(duration * 1000),
    }


def document_media_type(request: Request) -> str:
    """The negotiated media type of a history document; NotAcceptable for CSV or none."""
    media = choose_media_type(request.headers.get("accept"))
    if media not in _DOCUMENT_TYPES:
        raise NotAcceptable(
            "no acceptable media type; this resource serves application/hal+json, "
            "application/json, application/xml and text/xml"
        )
    return media


def render_document(media: str, root: str, body: dict[str, Any], links: dict[str, str]) -> Response:
    """``body`` in ``media``: HAL adds ``links`` as ``_links``; XML names items by ``root``."""
    if media == "application/hal+json":
        hal = {**body, "_links": {rel: {"href": href} for rel, href in links.items()}}
        content = orjson.dumps(hal)
    elif media == "application/json":
        content = orjson.dumps(body)
    else:
        content = xml_document(root + "s", body, item_name=root)
    return Response(content, media_type=_DOCUMENT_TYPES[media])


@guarded
async def get_attempts(request: Request) -> Response:
    """``GET /tasks/{taskId}/attempts``: ``{"items": [...], "total": n}``, oldest first."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    media = document_media_type(request)
    task_id = request.path_params["task_id"]
    project_id = request.query_params.get("projectId")
    attempts = await task_attempts(ctx.tasks, principal, task_id, project_id)
    body = {"items": [attempt_fields(a) for a in attempts], "total": len(attempts)}
    task_href = f"{prefix_of(request.scope['path'])}/tasks/{task_id}"
    links = {"self": f"{task_href}/attempts", "task": task_href}
    return render_document(media, "attempt", body, links)


def attempt_routes(prefixes: Sequence[str]) -> list[Route]:
    """The attempts route under each prefix."""
    return [
        Route(f"{prefix}/tasks/{{task_id}}/attempts", get_attempts, methods=["GET"])
        for prefix in prefixes
    ]
