"""What every API route shares: the media type a request accepts, the prefix it came in
under, one task as a reply, and the guard that turns any failure into problem+json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from tasktrack.api.negotiation import choose_media_type
from tasktrack.api.problems import from_exception, problem
from tasktrack.api.renderers import RENDERERS, Renderer
from tasktrack.api.representation import task_fields
from tasktrack.domain.task import Task
from tasktrack.errors import TaskTrackError

Endpoint = Callable[[Request], Awaitable[Response]]


class NotAcceptable(TaskTrackError):
    """None of the media types in Accept can be served."""


def prefix_of(path: str) -> str:
    """The API prefix a request path came in under, for the links of the reply."""
    return "/new/v2.0" if path.startswith("/new/") else "/v2.0"


def request_prefix(request: Request) -> str:
    # From the raw scope: request.url rebuilds the whole URL, a measurable cost per request.
    return prefix_of(request.scope["path"])


def renderer_for(request: Request) -> Renderer:
    media = choose_media_type(request.headers.get("accept"))
    if media is None:
        raise NotAcceptable(
            "no acceptable media type; this API serves application/hal+json, application/json, "
            "application/xml, text/xml and text/csv"
        )
    return RENDERERS[media]


def etag(task: Task) -> str:
    return f'W/"{task.id}.{task.version}"'


def not_modified(task: Task) -> Response:
    """The 304 of a conditional read that named the task's current version (also used by
    the fast path)."""
    return Response(status_code=304, headers={"ETag": etag(task)})


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


def task_response(prefix: str, renderer: Renderer, task: Task, status: int = 200) -> Response:
    """One task as ``renderer`` draws it, with its ETag (also used by the fast path)."""
    href = f"{prefix}/tasks/{task.id}"
    return Response(
        renderer.task(task_fields(task), href),
        status_code=status,
        media_type=renderer.content_type,
        headers={"ETag": etag(task)},
    )


def guarded(fn: Endpoint) -> Endpoint:
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
