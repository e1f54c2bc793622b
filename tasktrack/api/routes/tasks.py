"""The four contract routes: read one, list, cancel, and (ours) create.

Each handler is parse → service → render. The read path stays off generic encoders and the
thread pool: handlers are ``async``, the store's primary-key read is inline, and bytes come
straight from orjson through a renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.body import read_json, require_json
from tasktrack.api.context import ApiContext, context_of
from tasktrack.api.dedup import read_dedup, reply_headers, reply_status
from tasktrack.api.query import parse_list_query
from tasktrack.api.renderers.csv import list_headers
from tasktrack.api.representation import task_fields
from tasktrack.api.routes.common import (
    guarded,
    not_modified,
    renderer_for,
    request_prefix,
    seen_version,
    task_response,
)
from tasktrack.api.warnings import warn_if_unserved
from tasktrack.domain.identity import Principal
from tasktrack.domain.task import SERVER_OWNED_FIELDS, Task
from tasktrack.errors import InvalidArgument, MissingArgument
from tasktrack.observability.tracing import current_context
from tasktrack.service.tasks import MAX_WAIT, Schedule

#: The seed's create fields, then the scheduling options (issue 14; docs/scheduling-claims.md).
#: ``uniqueKey`` is taken out of the body before (api/dedup.py).
_CREATE_FIELDS = frozenset({"name", "data", "projectId", "runAt", "delaySeconds", "priority"})


@guarded
async def get_task(request: Request) -> Response:
    """``GET /tasks/{taskId}``, with ``If-None-Match`` (304) and ``?wait=`` (long poll)."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = renderer_for(request)
    task_id = request.path_params["task_id"]
    seen = seen_version(request.headers.get("if-none-match"), task_id)
    task = await _read_task(ctx, request, principal, task_id, seen)
    if seen is not None and seen == task.version:
        return not_modified(task)
    return task_response(request_prefix(request), renderer, task)


async def _read_task(
    ctx: ApiContext, request: Request, principal: Principal, task_id: str, seen: int | None
) -> Task:
    project_id = request.query_params.get("projectId")
    wait = request.query_params.get("wait")
    if wait is None:
        return await ctx.tasks.get(principal, task_id, project_id)
    return await ctx.tasks.wait_for_change(
        principal, task_id, seen, _wait_seconds(wait), project_id
    )


@guarded
async def list_tasks(request: Request) -> Response:
    """``GET /tasks``: one page, its paging facts in the body and in headers."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = renderer_for(request)
    query = parse_list_query(request.query_params, principal.org_id)
    page = await ctx.tasks.list(principal, query)
    nxt = page.next_cursor.encode() if page.next_cursor else None
    prev = page.previous_cursor.encode() if page.previous_cursor else None
    base = f"{request_prefix(request)}/tasks"
    body = renderer.task_list(
        [(task_fields(t), f"{base}/{t.id}") for t in page.items],
        page.total,
        nxt,
        prev,
        _list_links(request, base, nxt, prev),
    )
    headers = list_headers(page.total, nxt, prev)
    return Response(body, media_type=renderer.content_type, headers=headers)


def _list_links(
    request: Request, base: str, nxt: str | None, prev: str | None
) -> dict[str, str | None]:
    keep = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("next", "previous", "skip", "api_key")
    ]
    return {
        "self": _self_link(request),
        "next": _link(base, keep, "next", nxt),
        "previous": _link(base, keep, "previous", prev),
    }


@guarded
async def create_task(request: Request) -> Response:
    """``POST /tasks`` (ours): 201 with the new task and its ``Location``."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = renderer_for(request)
    require_json(request.headers.get("content-type"))
    body, dedup = read_dedup(request.headers, await read_json(request, ctx.settings.max_body_bytes))
    name, data, project_id = _create_args(body)
    schedule = Schedule(body.get("runAt"), body.get("delaySeconds"), body.get("priority"))
    created = await ctx.tasks.submit(
        principal, name, data, project_id, dedup, trace=current_context(), schedule=schedule
    )
    task = created.task
    response = task_response(request_prefix(request), renderer, task, reply_status(created.outcome))
    response.headers["Location"] = f"{request_prefix(request)}/tasks/{task.id}"
    response.headers.update(reply_headers(created.outcome))
    await warn_if_unserved(ctx, response, task.name)
    return response


@guarded
async def cancel_task(request: Request) -> Response:
    """``POST /tasks/{taskId}/cancel``: the task as the cancel request left it."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = renderer_for(request)
    task = await ctx.tasks.cancel(
        principal, request.path_params["task_id"], request.query_params.get("projectId")
    )
    return task_response(request_prefix(request), renderer, task)


def task_routes(prefixes: Sequence[str]) -> list[Route]:
    """The four task routes under each of ``prefixes``, in the order given."""
    routes: list[Route] = []
    for prefix in prefixes:
        routes += [
            Route(f"{prefix}/tasks", list_tasks, methods=["GET"]),
            Route(f"{prefix}/tasks", create_task, methods=["POST"]),
            Route(f"{prefix}/tasks/{{task_id}}", get_task, methods=["GET"]),
            Route(f"{prefix}/tasks/{{task_id}}/cancel", cancel_task, methods=["POST"]),
        ]
    return routes


def _wait_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidArgument(f"wait must be a number of seconds, got {raw[:40]!r}") from None
    if not 0 <= seconds <= MAX_WAIT:  # also refuses nan and inf
        raise InvalidArgument(f"wait must be between 0 and {MAX_WAIT:g} seconds")
    return seconds


def _self_link(request: Request) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "api_key"]
    return _with_query(request.url.path, items)


def _link(base: str, keep: list[tuple[str, str]], name: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return _with_query(base, [*keep, (name, cursor)])


def _with_query(path: str, items: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(items)}" if items else path


def _create_args(body: Any) -> tuple[str, dict[str, Any], str | None]:
    if not isinstance(body, dict):
        raise InvalidArgument("request body must be a JSON object")
    owned = sorted(SERVER_OWNED_FIELDS & body.keys())
    if owned:
        raise InvalidArgument(f"these fields are set by the server, not the client: {owned}")
    unknown = sorted(body.keys() - _CREATE_FIELDS)
    if unknown:
        raise InvalidArgument(
            f"unknown fields {unknown}; a task takes name, data, projectId, runAt, "
            "delaySeconds, priority and uniqueKey"
        )
    name = body.get("name")
    if name is None:
        raise MissingArgument("name is required")
    if not isinstance(name, str) or not name:
        raise InvalidArgument("name must be a non-empty string")
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise InvalidArgument("data must be a JSON object")
    project_id = body.get("projectId")
    if project_id is not None and not isinstance(project_id, str):
        raise InvalidArgument("projectId must be a string")
    return name, data, project_id
