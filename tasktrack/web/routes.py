"""The dashboard's routes: the page at ``/``, its assets under ``/static/``, and the change
stream under ``/v2.0/events`` (and ``/new/v2.0/events``).

The page and its assets are public (they hold no data); every byte of task data comes from the
API with the credential the user signs in with. Nothing is fetched from another origin: the
Content-Security-Policy says so to the browser, too.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from tasktrack.web.events import events_endpoint

STATIC_DIR = Path(__file__).parent / "static"

#: Same-origin only; no inline script or style; blob: for the JSON/XML/CSV views.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


_ASSETS = StaticFiles(directory=STATIC_DIR)


async def asset(request: Request) -> Response:
    """A file of ``static/``, revalidated on every load (ETag → 304); 404 for anything else."""
    response = await _ASSETS.get_response(request.path_params["path"], request.scope)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response


async def index(request: Request) -> Response:
    body = (STATIC_DIR / "index.html").read_bytes()
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def web_routes(
    prefixes: tuple[str, ...] = ("/new/v2.0", "/v2.0"),
    *,
    interval: float = 0.5,
    lifetime: float = 60.0,
) -> list[Route]:
    """Routes to add to the API app (which sets ``app.state.ctx`` at start-up)."""
    events = events_endpoint(interval=interval, lifetime=lifetime)
    routes = [
        Route("/", index, methods=["GET"]),
        Route("/static/{path:path}", asset, methods=["GET"]),
    ]
    routes += [Route(f"{prefix}/events", events, methods=["GET"]) for prefix in prefixes]
    return routes
