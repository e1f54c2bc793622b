"""``DELETE /tasks/{taskId}`` (ours): remove one finished task with its result, attempts and
logs. 204 with no body; problem+json otherwise (403 read-only, 404 missing or another
organisation's, 409 while the task is not finished)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.context import context_of
from tasktrack.api.problems import from_exception


async def delete_task(request: Request) -> Response:
    """``DELETE /tasks/{taskId}``: 204 once the finished task is gone."""
    try:
        ctx = context_of(request)
        principal = await ctx.authenticate(request)
        await ctx.tasks.delete(
            principal, request.path_params["task_id"], request.query_params.get("projectId")
        )
    except Exception as exc:
        return from_exception(request, exc)
    return Response(status_code=204)


def retention_routes(prefixes: Sequence[str]) -> list[Route]:
    """The delete route under each of ``prefixes``."""
    return [Route(f"{p}/tasks/{{task_id}}", delete_task, methods=["DELETE"]) for p in prefixes]
