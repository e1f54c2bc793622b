"""``GET /workers`` and ``GET /overview`` (issue 16): the worker registry and the dashboard's
overview, under every prefix. JSON, HAL (adds ``_links.self``) and XML; CSV is a 406.

Both need only a valid credential (read scope). Workers are shared infrastructure: every
caller sees every worker, but names running attempts of its own organisation only (see
:mod:`tasktrack.service.workers`). The overview counts the caller's organisation only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.context import context_of
from tasktrack.api.representation import rfc3339
from tasktrack.api.routes.attempts import document_media_type, render_document
from tasktrack.api.routes.common import guarded, prefix_of
from tasktrack.domain.overview import Durations, FinishedCount
from tasktrack.domain.workers import WorkerState
from tasktrack.errors import InvalidArgument
from tasktrack.service.overview import Overview
from tasktrack.service.workers import WorkerView

#: The final statuses the overview counts per bucket.
_FINISHED = ("done", "error", "cancelled")


def _time(value: float | None) -> str | None:
    return None if value is None else rfc3339(datetime.fromtimestamp(value, UTC))


def worker_fields(view: WorkerView) -> dict[str, Any]:
    """One worker as the wire shows it."""
    w = view.info
    attempts = [
        {
            "taskId": r.task_id,
            "attempt": r.attempt,
            "name": r.name,
            "startedAt": _time(r.started_at),
        }
        for r in w.running
    ]
    return {
        "id": w.id,
        "host": w.host,
        "pid": w.pid,
        "state": view.state.value,
        "startedAt": _time(w.started_at),
        "lastHeartbeatAt": _time(w.heartbeat_at),
        "heartbeatIntervalSeconds": w.heartbeat_interval,
        "stoppedAt": _time(w.stopped_at),
        "taskTypes": list(w.task_types),
        "queues": list(w.queues),
        "concurrency": w.concurrency,
        "running": view.running_count,
        "runningAttempts": attempts,
    }


def _states(raw: str | None) -> set[WorkerState] | None:
    if raw is None:
        return None
    try:
        return {WorkerState(part.strip()) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise InvalidArgument("state must be live, stopped or dead (or a comma list)") from None


@guarded
async def list_workers(request: Request) -> Response:
    """``GET /workers[?state=live,dead,stopped]``: ``{"items", "total", "liveTaskTypes"}``."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    media = document_media_type(request)
    wanted = _states(request.query_params.get("state"))
    views = await ctx.workers.list(principal)
    live = sorted({t for v in views if v.state is WorkerState.LIVE for t in v.info.task_types})
    shown = [v for v in views if wanted is None or v.state in wanted]
    body = {"items": [worker_fields(v) for v in shown], "total": len(shown), "liveTaskTypes": live}
    links = {"self": f"{prefix_of(request.scope['path'])}/workers"}
    return render_document(media, "worker", body, links)


def _hours(raw: str | None) -> int:
    if raw is None:
        return 1
    if not raw.isdigit() or len(raw) > 3:
        raise InvalidArgument(f"hours must be a whole number, got {raw[:40]!r}")
    return int(raw)


def _finished(overview: Overview) -> list[dict[str, Any]]:
    """Every bucket of the window, oldest first, with a count per final status (zeros too)."""
    size = overview.bucket_seconds
    first = int(overview.since)
    buckets = {b: dict.fromkeys(_FINISHED, 0) for b in range(first, int(overview.until) + 1, size)}
    for count in overview.finished:
        _add(buckets, count)
    return [{"at": at, **counts} for at, counts in sorted(buckets.items())]


def _add(buckets: dict[int, dict[str, int]], count: FinishedCount) -> None:
    if count.bucket in buckets and count.status in _FINISHED:
        buckets[count.bucket][count.status] += count.count


def _duration_fields(d: Durations) -> dict[str, Any]:
    ms = {f"{k}Ms": round(v * 1000) for k, v in (("p50", d.p50), ("p90", d.p90), ("p99", d.p99))}
    return {"name": d.name, "count": d.count, **ms, "maxMs": round(d.max * 1000)}


def overview_fields(overview: Overview, hours: int) -> dict[str, Any]:
    """The overview as the wire shows it (times as Unix seconds, like ``createdAt``)."""
    return {
        "hours": hours,
        "since": overview.since,
        "until": overview.until,
        "bucketSeconds": overview.bucket_seconds,
        "finished": _finished(overview),
        "queueDepth": [
            {"at": s.at, "queued": s.queued, "running": s.running} for s in overview.depth
        ],
        "durations": [_duration_fields(d) for d in overview.durations],
    }


@guarded
async def get_overview(request: Request) -> Response:
    """``GET /overview[?hours=1..24]``: the caller's organisation over the last hours."""
    ctx = context_of(request)
    principal = await ctx.authenticate(request)
    media = document_media_type(request)
    hours = _hours(request.query_params.get("hours"))
    overview = await ctx.overview.overview(principal, hours)
    links = {"self": f"{prefix_of(request.scope['path'])}/overview"}
    return render_document(media, "overview", overview_fields(overview, hours), links)


def worker_routes(prefixes: Sequence[str]) -> list[Route]:
    """The workers and overview routes under each of ``prefixes``."""
    routes: list[Route] = []
    for prefix in prefixes:
        routes += [
            Route(f"{prefix}/workers", list_workers, methods=["GET"]),
            Route(f"{prefix}/overview", get_overview, methods=["GET"]),
        ]
    return routes
