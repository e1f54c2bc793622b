"""Resources beside a task (issue 13): its result and details, and re-running it.

``GET /tasks/{taskId}/result``, ``GET /tasks/{taskId}/details`` and
``POST /tasks/{taskId}/rerun``, under every prefix. Result and details come as JSON, HAL
(plus ``_links.self`` and ``_links.task``) or XML; they have no CSV shape (406). A re-run's
reply is the new task, exactly as ``POST /tasks`` answers.
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
from tasktrack.api.routes.common import (
    NotAcceptable,
    guarded,
    prefix_of,
    renderer_for,
    task_response,
)
from tasktrack.api.warnings import warn_if_unserved
from tasktrack.domain.lifecycle import Status
from tasktrack.observability.tracing import current_context
from tasktrack.service.results import ResultService, TaskDetails, TaskOutcome

_JSON_TYPES = ("application/hal+json", "application/json")
_XML_TYPES = ("application/xml", "text/xml")


def _media(request: Request) -> str:
    media = choose_media_type(request.headers.get("accept"))
    if media not in (*_JSON_TYPES, *_XML_TYPES):
        raise NotAcceptable(
            "no acceptable media type; this resource is served as application/hal+json, "
            "application/json, application/xml and text/xml"
        )
    return media


def _service(request: Request) -> ResultService:
    return ResultService(context_of(request).tasks)


def _reply(request: Request, media: str, root: str, body: dict[str, Any]) -> Response:
    """``body`` in ``media``; HAL links it to itself and to its task."""
    if media in _XML_TYPES:
        return Response(xml_document(root, body), media_type=f"{media}; charset=utf-8")
    if media == "application/hal+json":
        path = request.scope["path"]
        task_href = path.rsplit("/", 1)[0]
        body = {**body, "_links": {"self": {"href": path}, "task": {"href": task_href}}}
    return Response(orjson.dumps(body), media_type=media)


def result_body(outcome: TaskOutcome) -> dict[str, Any]:
    """The wire shape of ``GET /tasks/{taskId}/result``."""
    task = outcome.task
    value = None if outcome.value_json is None else orjson.loads(outcome.value_json)
    fail_reason = task.fail_reason if task.status is Status.ERROR else ""
    return {
        "taskId": task.id,
        "status": task.status.value,
        "result": value,
        "failReason": fail_reason,
    }


def details_body(details: TaskDetails) -> dict[str, Any]:
    """The wire shape of ``GET /tasks/{taskId}/details``."""
    task = details.task
    return {
        "_id": task.id,
        "attempts": task.attempts,
        "maxAttempts": task.max_attempts,
        "rerunOf": task.rerun_of,
        "reruns": details.reruns,
        "hasResult": details.has_result,
        "uniqueKey": details.unique_key,
        # Scheduling (issue 14): when it may run (next, or last, claim), priority, queue.
        "runAt": due_text(task.run_after),
        "priority": task.priority,
        "queue": task.queue,
        "concurrencyKey": task.concurrency_key,
    }


def due_text(run_after: float) -> str:
    """A due time as RFC 3339 UTC with milliseconds (a delay may be under a second)."""
    return datetime.fromtimestamp(run_after, UTC).isoformat(timespec="milliseconds")[:23] + "Z"


@guarded
async def get_result(request: Request) -> Response:
    """``GET /tasks/{taskId}/result``: a finished task's result; 409 while it runs."""
    principal = await context_of(request).authenticate(request)
    media = _media(request)
    outcome = await _service(request).result(principal, *_target(request))
    return _reply(request, media, "taskResult", result_body(outcome))


@guarded
async def get_details(request: Request) -> Response:
    """``GET /tasks/{taskId}/details``: re-run links and whether a result is stored."""
    principal = await context_of(request).authenticate(request)
    media = _media(request)
    details = await _service(request).details(principal, *_target(request))
    return _reply(request, media, "taskDetails", details_body(details))


@guarded
async def rerun_task(request: Request) -> Response:
    """``POST /tasks/{taskId}/rerun``: 201 with the new task and its ``Location``."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = renderer_for(request)
    task = await _service(request).rerun(principal, *_target(request), trace=current_context())
    prefix = prefix_of(request.scope["path"])
    response = task_response(prefix, renderer, task, status=201)
    response.headers["Location"] = f"{prefix}/tasks/{task.id}"
    await warn_if_unserved(ctx, response, task.name)
    return response


def _target(request: Request) -> tuple[str, str | None]:
    return request.path_params["task_id"], request.query_params.get("projectId")


def result_routes(prefixes: Sequence[str]) -> list[Route]:
    """The result, details and re-run routes under each of ``prefixes``."""
    routes: list[Route] = []
    for prefix in prefixes:
        base = f"{prefix}/tasks/{{task_id}}"
        routes += [
            Route(f"{base}/result", get_result, methods=["GET"]),
            Route(f"{base}/details", get_details, methods=["GET"]),
            Route(f"{base}/rerun", rerun_task, methods=["POST"]),
        ]
    return routes
