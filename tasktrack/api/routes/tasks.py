"""The four contract routes: read one, list, cancel, and (ours) create.

Each handler is parse → service → render. The read path stays off generic encoders and the
thread pool: handlers are ``async``, the store's primary-key read is inline, and bytes come
straight from orjson through a renderer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tasktrack.api.body import read_json
from tasktrack.api.context import ApiContext
from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.problems import from_exception, problem
from tasktrack.api.query import parse_list_query
from tasktrack.api.renderers import RENDERERS, Renderer
from tasktrack.api.representation import task_fields
from tasktrack.domain.task import SERVER_OWNED_FIELDS, Task
from tasktrack.errors import InvalidArgument, MissingArgument, TaskTrackError
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


def task_response(prefix: str, renderer: Renderer, task: Task, status: int = 200) -> Response:
    """One task as ``renderer`` draws it, with its ETag (also used by the fast path)."""
    href = f"{prefix}/tasks/{task.id}"
    return Response(
        renderer.task(task_fields(task), href),
        status_code=status,
        media_type=renderer.content_type,
        headers={"ETag": _etag(task)},
    )


def handlers(ctx: ApiContext) -> dict[str, Endpoint]:
    """The route handlers, closed over the app's context."""

    def guarded(fn: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except NotAcceptable as exc:
                return problem(request, 406, exc.message)
            except Exception as exc:
                return from_exception(request, exc)

        endpoint.__name__ = fn.__name__
        return endpoint

    @guarded
    async def get_task(request: Request) -> Response:
        principal = await ctx.authenticate(request)
        renderer = _renderer(request)
        task_id = request.path_params["task_id"]
        project_id = request.query_params.get("projectId")
        seen = _seen_version(request.headers.get("if-none-match"), task_id)
        wait = request.query_params.get("wait")
        if wait is None:
            task = await ctx.tasks.get(principal, task_id, project_id)
        else:
            task = await ctx.tasks.wait_for_change(
                principal, task_id, seen, _wait_seconds(wait), project_id
            )
        if seen is not None and seen == task.version:
            return Response(status_code=304, headers={"ETag": _etag(task)})
        return task_response(_prefix(request), renderer, task)

    @guarded
    async def list_tasks(request: Request) -> Response:
        principal = await ctx.authenticate(request)
        renderer = _renderer(request)
        query = parse_list_query(request.query_params, principal.org_id)
        page = await ctx.tasks.list(principal, query)
        prefix = _prefix(request)
        nxt = page.next_cursor.encode() if page.next_cursor else None
        prev = page.previous_cursor.encode() if page.previous_cursor else None
        base = f"{prefix}/tasks"
        keep = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("next", "previous", "skip", "api_key")
        ]
        links = {
            "self": _self_link(request),
            "next": _link(base, keep, "next", nxt),
            "previous": _link(base, keep, "previous", prev),
        }
        body = renderer.task_list(
            [(task_fields(t), f"{base}/{t.id}") for t in page.items],
            page.total,
            nxt,
            prev,
            links,
        )
        headers = _list_headers(page.total, nxt, prev)
        return Response(body, media_type=renderer.content_type, headers=headers)

    @guarded
    async def create_task(request: Request) -> Response:
        principal = await ctx.authenticate(request)
        renderer = _renderer(request)
        body = await read_json(request, ctx.settings.max_body_bytes)
        name, data, project_id = _create_args(body)
        task = await ctx.tasks.create(principal, name, data, project_id)
        response = task_response(_prefix(request), renderer, task, status=201)
        response.headers["Location"] = f"{_prefix(request)}/tasks/{task.id}"
        return response

    @guarded
    async def cancel_task(request: Request) -> Response:
        principal = await ctx.authenticate(request)
        renderer = _renderer(request)
        task = await ctx.tasks.cancel(
            principal, request.path_params["task_id"], request.query_params.get("projectId")
        )
        return task_response(_prefix(request), renderer, task)

    return {
        "get_task": get_task,
        "list_tasks": list_tasks,
        "create_task": create_task,
        "cancel_task": cancel_task,
    }


def _wait_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise InvalidArgument(f"wait must be a number of seconds, got {raw[:40]!r}") from None
    if not 0 <= seconds <= MAX_WAIT:  # also refuses nan and inf
        raise InvalidArgument(f"wait must be between 0 and {MAX_WAIT:g} seconds")
    return seconds


def _seen_version(header: str | None, task_id: str) -> int | None:
    """The version named by an ``If-None-Match`` ETag of this task, if any (weak compare)."""
    if not header:
        return None
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        tid, _, version = tag.partition(".")
        if tid == task_id and version.isdigit() and len(version) < 19:
            return int(version)
    return None


def _list_headers(total: int, nxt: str | None, prev: str | None) -> dict[str, str]:
    """Paging facts as headers too, so a CSV body (which has no room for them) loses nothing."""
    headers = {"X-Total-Count": str(total)}
    if nxt:
        headers["X-Next-Cursor"] = nxt
    if prev:
        headers["X-Previous-Cursor"] = prev
    return headers


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
