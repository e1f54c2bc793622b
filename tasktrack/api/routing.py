"""Two router behaviours Starlette gets slightly wrong for us: slash redirects and ``Allow``.

* Starlette's trailing-slash redirect builds an absolute URL from the request's ``Host``
  header, so a forged ``Host`` comes back in ``Location``. :func:`use_relative_slash_redirects`
  keeps the redirect but makes its target a path (RFC 9110 allows a relative ``Location``),
  which nothing in the request can point elsewhere.
* A 405 must carry ``Allow`` (RFC 9110 section 15.5.6). Starlette names the methods of the
  first route that matched the path only, and ``/tasks`` has a GET route and a POST route:
  :func:`allowed_methods` names every method any route serves at the path.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


def use_relative_slash_redirects(router: Router) -> None:
    """Replace ``router``'s slash redirect with one whose ``Location`` is a path."""
    not_found = router.default
    router.redirect_slashes = False

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        target = _slash_twin(scope)
        if target is not None and _matches(router.routes, {**scope, "path": target}):
            query = scope.get("query_string", b"").decode("latin-1")
            location = f"{target}?{query}" if query else target
            await RedirectResponse(location)(scope, receive, send)
            return
        await not_found(scope, receive, send)

    router.default = default


def _slash_twin(scope: Scope) -> str | None:
    """The request path with its trailing slash toggled; None when it must not redirect."""
    path: str = scope["path"]
    if scope["type"] != "http" or path in ("", "/"):
        return None
    twin = path.rstrip("/") if path.endswith("/") else path + "/"
    # "//host" would be a network-path reference: a redirect to another site.
    if not twin.startswith("/") or twin.startswith("//") or "\\" in twin:
        return None
    return twin


def _matches(routes: list[BaseRoute], scope: Scope) -> bool:
    return any(route.matches(scope)[0] is not Match.NONE for route in routes)


def allowed_methods(routes: list[BaseRoute], connection: HTTPConnection) -> str:
    """The ``Allow`` value for the request's path: every method a route serves there."""
    scope = {**connection.scope, "method": "\x00"}  # no route serves it: path matches only
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] is Match.PARTIAL:
            methods |= route.methods
    return ", ".join(sorted(methods))
