"""Health routes for load balancers and orchestrators: ``/health/live``, ``/health/ready``.

``/health`` stays as it always was (a fixed ``{"status":"ok"}``, for old clients and
probes). ``/health/live`` is the same answer under the name orchestrators expect: the process
serves HTTP. ``/health/ready`` runs the readiness checks (:mod:`tasktrack.service.health`):
200 with each check when all pass, else a 503 problem+json naming the failed ones.

The same routes serve ``tasktrack worker --health-port`` (:func:`health_app`), with the
worker's checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.edge import EdgeMiddleware
from tasktrack.api.problems import problem
from tasktrack.service.health import Probe, Readiness, readiness

#: Probes change from one moment to the next: never serve a cached answer.
NO_STORE = {"Cache-Control": "no-store"}
LIVE_BODY = b'{"status":"ok"}'
#: What a not-ready answer asks a client to wait before asking again.
RETRY_AFTER = "5"

ProbesOf = Callable[[Request], Sequence[Probe]]


def health_routes(probes_of: ProbesOf) -> list[Route]:
    """``/health/live`` and ``/health/ready``; ``probes_of(request)`` names the checks."""

    async def ready(request: Request) -> Response:
        return ready_response(request, await readiness(probes_of(request)))

    return [
        Route("/health/live", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
    ]


async def live(request: Request) -> Response:
    return Response(LIVE_BODY, media_type="application/json", headers=NO_STORE)


def ready_response(request: Request, state: Readiness) -> Response:
    """200 with the checks, or a 503 problem whose ``details.checks`` has them."""
    checks = {check.name: {"ok": check.ok, "detail": check.detail} for check in state.checks}
    if state.ready:
        body = orjson.dumps({"status": "ready", "checks": checks})
        return Response(body, media_type="application/json", headers=NO_STORE)
    failed = ", ".join(f"{c.name}: {c.detail}" for c in state.failed())
    return problem(
        request,
        503,
        f"not ready ({failed})",
        details={"checks": checks},
        headers={**NO_STORE, "Retry-After": RETRY_AFTER},
    )


def health_app(probes: Sequence[Probe]) -> Starlette:
    """An app serving only the health routes (and the old ``/health``), with ``probes``."""

    async def old_health(request: Request) -> Response:
        return Response(LIVE_BODY, media_type="application/json")

    routes = [Route("/health", old_health, methods=["GET"]), *health_routes(lambda _: probes)]
    return Starlette(routes=routes, middleware=[Middleware(EdgeMiddleware, metrics=False)])
