"""``GET /tasks/{taskId}/logs`` (ours): a task's stored log lines after a cursor, with an
optional long poll (``wait``) for following a running task.

Body: ``{"items": [{"seq", "attempt", "at", "level", "message"}], "next", "finished"}``; HAL
adds ``_links`` (self, task); XML is ``<logs>`` with the same members; CSV is one row per line
(``seq,attempt,at,level,message``) with ``next`` and ``finished`` in the ``Log-Next`` and
``Log-Finished`` headers.
"""

from __future__ import annotations

import csv
import io
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
from tasktrack.api.routes.common import NotAcceptable, guarded, prefix_of
from tasktrack.domain.history import LogLine
from tasktrack.errors import InvalidArgument
from tasktrack.service.logs import DEFAULT_LOG_LIMIT, LogPage, TaskLogs

_CSV_COLUMNS = ("seq", "attempt", "at", "level", "message")


@guarded
async def read_logs(request: Request) -> Response:
    """``GET /tasks/{taskId}/logs?after=&limit=&wait=``."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    media = _media_type(request)
    task_id = request.path_params["task_id"]
    after, limit, wait = _query(request)
    page = await TaskLogs(ctx.tasks).read(principal, task_id, after, limit, wait)
    task_href = f"{prefix_of(request.scope['path'])}/tasks/{task_id}"
    return _render(media, page, request.url.path, task_href)


def _media_type(request: Request) -> str:
    media = choose_media_type(request.headers.get("accept"))
    if media is None:
        raise NotAcceptable(
            "no acceptable media type; logs are served as application/hal+json, "
            "application/json, application/xml, text/xml and text/csv"
        )
    return media


def _query(request: Request) -> tuple[int, int, float]:
    params = request.query_params
    after = _integer(params.get("after"), "after", 0)
    limit = _integer(params.get("limit"), "limit", DEFAULT_LOG_LIMIT)
    raw_wait = params.get("wait", "0")
    try:
        wait = float(raw_wait)
    except ValueError:
        raise InvalidArgument(f"wait must be a number of seconds, got {raw_wait[:40]!r}") from None
    if wait != wait:  # nan
        raise InvalidArgument("wait must be a number of seconds")
    return after, limit, wait


def _integer(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidArgument(f"{name} must be a non-negative integer, got {raw[:40]!r}")
    return int(raw)


def _body(page: LogPage) -> dict[str, Any]:
    return {"items": [_line(x) for x in page.items], "next": page.next, "finished": page.finished}


def _line(line: LogLine) -> dict[str, Any]:
    return {
        "seq": line.seq,
        "attempt": line.attempt,
        "at": _iso(line.at),
        "level": line.level,
        "message": line.message,
    }


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _render(media: str, page: LogPage, self_href: str, task_href: str) -> Response:
    body = _body(page)
    if media == "application/hal+json":
        body["_links"] = {"self": {"href": self_href}, "task": {"href": task_href}}
    if media.endswith("json"):
        return Response(orjson.dumps(body), media_type=media)
    if media == "text/csv":
        return _csv(page, body["items"])
    return Response(_xml(body), media_type=f"{media}; charset=utf-8")


def _xml(body: dict[str, Any]) -> bytes:
    """``<logs>`` with ``<items>`` (``<item>`` per line), ``<next>``, ``<finished>``, written
    by the task renderer's document writer (same escaping rules)."""
    return xml_document("logs", body)


def _csv(page: LogPage, items: Sequence[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, _CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(items)
    headers = {"Log-Next": str(page.next), "Log-Finished": str(page.finished).lower()}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def log_routes(prefixes: Sequence[str]) -> list[Route]:
    """The logs route under each of ``prefixes``."""
    return [Route(f"{p}/tasks/{{task_id}}/logs", read_logs, methods=["GET"]) for p in prefixes]
