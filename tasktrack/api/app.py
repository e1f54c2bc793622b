"""``create_app``: the Starlette application serving the Tasks API.

Plain Starlette routes rather than FastAPI's dependency injection: the GET-one benchmark
showed FastAPI's per-request machinery and generic encoder cost most of the budget, and the
contract's five media types want hand-rendered bytes anyway. The OpenAPI document is written
out in :mod:`tasktrack.api.openapi` instead of being derived.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasktrack.api.access_log import AccessLogMiddleware
from tasktrack.api.context import ApiContext
from tasktrack.api.fastpath import TaskReadFastPath
from tasktrack.api.openapi import openapi_document
from tasktrack.api.problems import problem
from tasktrack.api.ratelimit import FailedAuthLimiter, RateLimitMiddleware, RateLimitPolicy
from tasktrack.api.routes.auth import AuthEndpoints
from tasktrack.api.routes.tasks import handlers
from tasktrack.api.security import Authenticator
from tasktrack.config import Settings
from tasktrack.metrics import TASKS
from tasktrack.service.identity import IdentityService
from tasktrack.service.oauth import OAuthService
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.tasks import TaskService
from tasktrack.service.tokens import TokenPolicy
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tasktrack.web.routes import web_routes

PREFIXES = ("/new/v2.0", "/v2.0")


def create_app(
    settings: Settings,
    registry: TaskRegistry,
    stores: Stores | None = None,
    on_ready: Callable[[ApiContext], None] | None = None,
    extensions: Sequence[Callable[[ApiContext], AbstractAsyncContextManager[None]]] = (),
) -> Starlette:
    """The API app. Opens (and upgrades) the database at start-up unless ``stores`` is given.

    ``extensions`` run for the app's lifetime once the context exists (the in-process worker
    of ``tasktrack serve`` is one).
    """
    holder: dict[str, ApiContext] = {}

    class _Lazy:
        """Routes are built before start-up; they reach the context through this proxy."""

        def __getattr__(self, name: str) -> object:
            return getattr(holder["ctx"], name)

    endpoints = handlers(_Lazy())  # type: ignore[arg-type]
    routes = []
    # /v2.0 first: the router tries routes in order, and most clients use it.
    for prefix in sorted(PREFIXES, key=len):
        routes += [
            Route(f"{prefix}/tasks", endpoints["list_tasks"], methods=["GET"]),
            Route(f"{prefix}/tasks", endpoints["create_task"], methods=["POST"]),
            Route(f"{prefix}/tasks/{{task_id}}", endpoints["get_task"], methods=["GET"]),
            Route(f"{prefix}/tasks/{{task_id}}/cancel", endpoints["cancel_task"], methods=["POST"]),
        ]
    document = openapi_document(registry)

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def metrics(request: Request) -> Response:
        counts = await holder["ctx"].stores.tasks.count_by_status()
        for status, n in counts.items():
            TASKS.labels(status.value).set(n)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    routes += [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    # Identity: the OAuth 2.0 endpoints, and the limiter of failed authentication.
    limiter = FailedAuthLimiter(RateLimitPolicy(settings.auth_failures_per_minute))
    auth = AuthEndpoints(limiter)
    routes += auth.routes()
    routes += web_routes(PREFIXES)  # the dashboard: /, /static/*, /v2.0/events (tasktrack.web)
    token_policy = TokenPolicy(settings.access_token_ttl, settings.refresh_token_ttl)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = stores is None
        opened = stores or await open_stores(
            settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        identity = IdentityService(
            opened.identity, key_cache_seconds=settings.api_key_cache_seconds
        )
        await identity.ensure_default()
        auth.oauth = await OAuthService.open(opened.identity, token_policy)
        ctx = ApiContext(
            settings=settings,
            stores=opened,
            tasks=TaskService(opened.tasks, registry),
            identity=identity,
            authenticator=Authenticator(identity, auth.oauth.verify_access_token, limiter),
        )
        holder["ctx"] = ctx
        app.state.ctx = ctx
        try:
            async with contextlib.AsyncExitStack() as stack:
                for extension in extensions:
                    await stack.enter_async_context(extension(ctx))
                if on_ready is not None:
                    on_ready(ctx)
                yield
        finally:
            if own:
                await opened.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return problem(request, exc.status_code, str(exc.detail))

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    # Innermost first: the fast read sits in front of the router, behind limits and metrics.
    app.add_middleware(TaskReadFastPath, context=lambda: holder.get("ctx"))
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(AccessLogMiddleware, access_log=bool(settings.access_log))
    return app
