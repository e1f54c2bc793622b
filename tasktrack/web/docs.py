"""``/docs``: the OpenAPI document as an interactive page (Swagger UI), served from here.

Swagger UI's files come from the ``swagger-ui-bundle`` package (installed with tasktrack,
Apache-2.0), not from a CDN: the page fetches nothing from another origin, and runs under
the dashboard's Content-Security-Policy. Swagger UI is started by our own script file
(``static/docs.js``), since the policy allows no inline script.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from tasktrack.web.routes import SECURITY_HEADERS, STATIC_DIR

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
#: The files the page loads; the package's other files (its demo page, which would fetch a
#: pet store from the internet, source maps) are not served.
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})
_SWAGGER = StaticFiles(directory=SWAGGER_DIR)


async def page(request: Request) -> Response:
    """The page: Swagger UI's stylesheet and script, then ours that starts it."""
    body = (STATIC_DIR / "docs.html").read_bytes()
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


async def asset(request: Request) -> Response:
    """One of :data:`SWAGGER_FILES`, revalidated by ETag; 404 for anything else."""
    name = request.path_params["path"]
    if name not in SWAGGER_FILES:
        raise HTTPException(404, f"no file {name!r} here")
    response = await _SWAGGER.get_response(name, request.scope)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response


def docs_routes() -> list[Route]:
    """``/docs`` and ``/docs/assets/{path}``, to add to the API app."""
    return [
        Route("/docs", page, methods=["GET"]),
        Route("/docs/assets/{path:path}", asset, methods=["GET"]),
    ]
