"""The four contract routes: read one, list, cancel, and (ours) create.

Each handler is parse → service → render. The read path stays off generic encoders and the
thread pool: handlers are ``async``, the store's primary-key read is inline, and bytes come
straight from orjson through a renderer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.body import read_json, require_json
from tasktrack.api.context import ApiContext, context_of
from tasktrack.api.dedup import read_dedup, reply_headers, reply_status
from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.problems import from_exception, problem
from tasktrack.api.query import parse_list_query
from tasktrack.api.renderers import RENDERERS, Renderer
from tasktrack.api.renderers.csv import list_headers
from tasktrack.api.representation import task_fields
from tasktrack.api.warnings import warn_if_unserved
from tasktrack.domain.identity import Principal
from tasktrack.domain.task import SERVER_OWNED_FIELDS, Task
from tasktrack.errors import InvalidArgument, MissingArgument, TaskTrackError
from tasktrack.observability.tracing import current_context
from tasktrack.service.tasks import MAX_WAIT

Endpoint = Callable[[Request], Awaitable[Response]]

_CREATE_FIELDS = frozenset({"name", "data", "projectId"})


class NotAcceptable(TaskTrackError):
    """None of the media types in Accept can be served."""


def prefix_of(path: str) -> str:
    """The API prefix a request path came in under, for the links of the reply."""
    return "/new/v2.0" if path.startswith("/new/") else "/v2.0"


def _prefix(request: Request) -> str:
    # From the raw scope: request.url rebuilds the whole URL, a measurable cost per request.
    return prefix_of(request.scope["path"])


def _renderer(request: Request) -> Renderer:
    media = choose_media_type(request.headers.get("accept"))
    if media is None:
        raise NotAcceptable(
            "no acceptable media type; this API serves application/hal+json, application/json, "
            "application/xml, text/xml and text/csv"
        )
    return RENDERERS[media]


def _etag(task: Task) -> str:
    return f'W/"{task.id}.{task.version}"'


def not_modified(task: Task) -> Response:
    """The 304 of a conditional read that named the task's current version (also used by
    the fast path)."""
    return Response(status_code=304, headers={"ETag": _etag(task)})


def task_response(prefix: str, renderer: Renderer, task: Task, status: int = 200) -> Response:
    """One task as ``renderer`` draws it, with its ETag (also used by the fast path)."""
    href = f"{prefix}/tasks/{task.id}"
    return Response(
        renderer.task(task_fields(task), href),
        status_code=status,
        media_type=renderer.content_type,
        headers={"ETag": _etag(task)},
    )


def _guarded(fn: Endpoint) -> Endpoint:
    """``fn`` with every failure turned into its problem+json reply."""

    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except NotAcceptable as exc:
            return problem(request, 406, exc.message)
        except Exception as exc:
            return from_exception(request, exc)

    endpoint.__name__ = fn.__name__
    return endpoint


@_guarded
async def get_task(request: Request) -> Response:
    """``GET /tasks/{taskId}``, with ``If-None-Match`` (304) and ``?wait=`` (long poll)."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = _renderer(request)
    task_id = request.path_params["task_id"]
    seen = seen_version(request.headers.get("if-none-match"), task_id)
    task = await _read_task(ctx, request, principal, task_id, seen)
    if seen is not None and seen == task.version:
        return not_modified(task)
    return task_response(_prefix(request), renderer, task)


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


@_guarded
async def list_tasks(request: Request) -> Response:
    """``GET /tasks``: one page, its paging facts in the body and in headers."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = _renderer(request)
    query = parse_list_query(request.query_params, principal.org_id)
    page = await ctx.tasks.list(principal, query)
    nxt = page.next_cursor.encode() if page.next_cursor else None
    prev = page.previous_cursor.encode() if page.previous_cursor else None
    base = f"{_prefix(request)}/tasks"
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


@_guarded
async def create_task(request: Request) -> Response:
    """``POST /tasks`` (ours): 201 with the new task and its ``Location``."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = _renderer(request)
    require_json(request.headers.get("content-type"))
    body, dedup = read_dedup(request.headers, await read_json(request, ctx.settings.max_body_bytes))
    name, data, project_id = _create_args(body)
    created = await ctx.tasks.submit(
        principal, name, data, project_id, dedup, trace=current_context()
    )
    task = created.task
    response = task_response(_prefix(request), renderer, task, reply_status(created.outcome))
    response.headers["Location"] = f"{_prefix(request)}/tasks/{task.id}"
    response.headers.update(reply_headers(created.outcome))
    await warn_if_unserved(ctx, response, task.name)
    return response


@_guarded
async def cancel_task(request: Request) -> Response:
    """``POST /tasks/{taskId}/cancel``: the task as the cancel request left it."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    renderer = _renderer(request)
    task = await ctx.tasks.cancel(
        principal, request.path_params["task_id"], request.query_params.get("projectId")
    )
    return task_response(_prefix(request), renderer, task)


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


def seen_version(header: str | None, task_id: str) -> int | None:
    """The version named by an ``If-None-Match`` ETag of this task, if any (weak compare)."""
    if not header:
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        tid, _, version = tag.partition(".")
        if tid == task_id and version.isdigit() and len(version) < 19:
            return int(version)
    return None


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
        raise InvalidArgument(f"unknown fields {unknown}; a task takes name, data and projectId")
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
