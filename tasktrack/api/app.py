"""``create_app``: the Starlette application serving the Tasks API (and the dashboard's files).

Plain Starlette routes rather than FastAPI's dependency injection: the GET-one benchmark
showed FastAPI's per-request machinery and generic encoder cost most of the budget, and the
contract's five media types want hand-rendered bytes anyway. The OpenAPI document is written
out in :mod:`tasktrack.api.openapi` instead of being derived.

The routes are plain functions built before start-up; the lifespan opens the stores, builds the
:class:`~tasktrack.api.context.ApiContext` and puts it on ``app.state.ctx``, where every route
(and the fast path) finds it.
"""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tasktrack.api.context import ApiContext, context_of
from tasktrack.api.edge import EdgeMiddleware
from tasktrack.api.fastpath import TaskReadFastPath
from tasktrack.api.health import health_routes
from tasktrack.api.openapi import openapi_document
from tasktrack.api.problems import problem
from tasktrack.api.ratelimit import FailedAuthLimiter, RateLimitPolicy
from tasktrack.api.routes.attempts import attempt_routes
from tasktrack.api.routes.auth import auth_routes
from tasktrack.api.routes.events import event_routes
from tasktrack.api.routes.logs import log_routes
from tasktrack.api.routes.results import result_routes
from tasktrack.api.routes.retention import retention_routes
from tasktrack.api.routes.scheduled import scheduled_routes
from tasktrack.api.routes.schedules import schedule_routes
from tasktrack.api.routes.tasks import task_routes
from tasktrack.api.routes.webhooks import webhook_routes
from tasktrack.api.routes.workers import worker_routes
from tasktrack.api.routing import allowed_methods, use_relative_slash_redirects
from tasktrack.api.security import Authenticator
from tasktrack.api.shutdown import uvicorn_exiting
from tasktrack.config import Settings
from tasktrack.metrics import TASKS
from tasktrack.observability import tracing
from tasktrack.service.health import Probe, database_probe
from tasktrack.service.identity import IdentityService
from tasktrack.service.oauth import OAuthService
from tasktrack.service.overview import OverviewService
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.tasks import TaskService
from tasktrack.service.tokens import TokenPolicy
from tasktrack.service.webhook_secrets import SecretBox
from tasktrack.service.webhooks import WebhookService
from tasktrack.service.workers import WorkerService
from tasktrack.storage.base import Stores
from tasktrack.storage.factory import open_stores
from tasktrack.storage.webhook_base import WebhookStore
from tasktrack.web.docs import docs_routes
from tasktrack.web.routes import web_routes

# /v2.0 first: the router tries routes in order, and most clients use it.
PREFIXES = ("/v2.0", "/new/v2.0")

Extension = Callable[[ApiContext], AbstractAsyncContextManager[None]]


def create_app(
    settings: Settings,
    registry: TaskRegistry,
    stores: Stores | None = None,
    on_ready: Callable[[ApiContext], None] | None = None,
    extensions: Sequence[Extension] = (),
) -> Starlette:
    """The API app. Opens (and upgrades) the database at start-up unless ``stores`` is given.

    ``extensions`` run for the app's lifetime once the context exists (the in-process worker
    of ``tasktrack serve`` is one).
    """
    limiter = FailedAuthLimiter(RateLimitPolicy(settings.auth_failures_per_minute))
    token_policy = TokenPolicy(settings.access_token_ttl, settings.refresh_token_ttl)
    lifespan = _Lifespan(settings, registry, stores, limiter, token_policy, on_ready, extensions)
    app = Starlette(
        routes=_routes(openapi_document(registry)),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    use_relative_slash_redirects(app.router)
    # Innermost first: the fast read sits in front of the router, behind the edge (request
    # id, limits, metrics), so every request is counted and limited whoever answers it.
    app.add_middleware(TaskReadFastPath, context=lambda: getattr(app.state, "ctx", None))
    app.add_middleware(EdgeMiddleware, limiter=limiter, access_log=bool(settings.access_log))
    tracing.configure(bool(settings.otel))
    if settings.otel:  # outermost: the span covers everything the request meets
        app.add_middleware(tracing.TracingMiddleware)
    return app


@dataclass(frozen=True)
class _Lifespan:
    """The app's lifetime: stores opened, the context on ``app.state.ctx``, extensions run."""

    settings: Settings
    registry: TaskRegistry
    stores: Stores | None
    limiter: FailedAuthLimiter
    token_policy: TokenPolicy
    on_ready: Callable[[ApiContext], None] | None
    extensions: Sequence[Extension]

    @contextlib.asynccontextmanager
    async def __call__(self, app: Starlette) -> AsyncIterator[None]:
        async with _stores(self.settings, self.stores) as opened:
            ctx = await _context(
                self.settings, self.registry, opened, self.limiter, self.token_policy
            )
            app.state.ctx = ctx
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(ctx.overview.sampling())
                for extension in self.extensions:
                    await stack.enter_async_context(extension(ctx))
                if self.on_ready is not None:
                    self.on_ready(ctx)
                yield


def _routes(document: bytes) -> list[BaseRoute]:
    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return [
        *task_routes(PREFIXES),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
        *health_routes(_probes),  # /health/live, /health/ready (issue 16)
        Route("/metrics", _metrics, methods=["GET"]),
        *auth_routes(),  # the OAuth 2.0 token and revocation endpoints
        *event_routes(PREFIXES),  # the dashboard's change stream
        *web_routes(),  # the dashboard's page and assets
        *docs_routes(),  # /docs: the OpenAPI document as an interactive page (issue 16)
        *result_routes(PREFIXES),  # a task's result and details, and re-running it
        *attempt_routes(PREFIXES),  # issue 13: a task's attempts
        *log_routes(PREFIXES),  # GET /tasks/{taskId}/logs (issue 13)
        *retention_routes(PREFIXES),  # DELETE /tasks/{taskId}
        *schedule_routes(PREFIXES),  # issue 14: GET /schedules
        *webhook_routes(PREFIXES),  # issue 16: webhook subscriptions
        *worker_routes(PREFIXES),  # GET /workers and /overview (issue 16)
        *scheduled_routes(PREFIXES),  # issue 14: tasks waiting for their runAt
    ]


@contextlib.asynccontextmanager
async def _stores(settings: Settings, given: Stores | None) -> AsyncIterator[Stores]:
    """``given``, or the stores of ``settings.database_url``, opened here and closed after."""
    if given is not None:
        yield given
        return
    opened = await open_stores(
        settings.database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    try:
        yield opened
    finally:
        await opened.close()


async def _context(
    settings: Settings,
    registry: TaskRegistry,
    stores: Stores,
    limiter: FailedAuthLimiter,
    token_policy: TokenPolicy,
) -> ApiContext:
    identity = IdentityService(stores.identity, key_cache_seconds=settings.api_key_cache_seconds)
    await identity.ensure_default()
    oauth = await OAuthService.open(stores.identity, token_policy, keys=settings.signing_keys())
    tasks = TaskService(stores.tasks, registry)
    tasks.idempotency_ttl = settings.idempotency_ttl
    tasks.stopping = uvicorn_exiting
    return ApiContext(
        settings=settings,
        stores=stores,
        tasks=tasks,
        identity=identity,
        authenticator=Authenticator(identity, oauth.verify_access_token, limiter),
        oauth=oauth,
        limiter=limiter,
        webhooks=await _webhooks(settings, stores),
        workers=WorkerService(stores.workers),
        overview=OverviewService(stores.stats),
    )


async def _webhooks(settings: Settings, stores: Stores) -> WebhookService | None:
    store: WebhookStore | None = getattr(stores, "webhooks", None)  # SQL stores only
    if store is None:
        return None
    box = await SecretBox.open(stores.identity, settings.webhook_key)
    return WebhookService(store, box, allow_private=bool(settings.webhook_allow_private))


async def _health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def _probes(request: Request) -> list[Probe]:
    ctx = context_of(request)
    return [database_probe(ctx.stores.probe), *ctx.probes]


async def _metrics(request: Request) -> Response:
    ctx = context_of(request)
    if not metrics_allowed(ctx.settings.metrics_token, request.headers.get("authorization")):
        return problem(
            request,
            401,
            "/metrics needs Authorization: Bearer <TASKTRACK_METRICS_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    counts = await ctx.stores.tasks.count_by_status()
    for status, n in counts.items():
        TASKS.labels(status.value).set(n)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_allowed(token: str, authorization: str | None) -> bool:
    """True when ``/metrics`` is open (no token set) or ``authorization`` carries the token."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request.app.router.routes, request)
    return problem(request, exc.status_code, str(exc.detail), headers=headers)
