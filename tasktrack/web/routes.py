"""The dashboard's files: the page at ``/`` and its assets under ``/static/``.

This package serves files only and imports nothing of the API. The page and its assets are
public (they hold no data); every byte of task data, the change stream at ``/v2.0/events``
included (:mod:`tasktrack.api.routes.events`), comes from the API with the credential the user
signs in with. Nothing is fetched from another origin: the Content-Security-Policy says so to
the browser, too.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

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
    """The dashboard's one page, with the security headers."""
    body = (STATIC_DIR / "index.html").read_bytes()
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def web_routes() -> list[Route]:
    """The page and its assets, to add to the API app."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/static/{path:path}", asset, methods=["GET"]),
    ]
