"""What the HTTP adapter holds while it runs: settings, services, and the authenticator.

The app builds one :class:`ApiContext` at start-up (its lifespan opens the stores) and keeps it
on ``app.state.ctx``, the Starlette place for per-app state. Every route reaches it the same
way, through :func:`context_of`; nothing is closed over when the routes are built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection, Request

from tasktrack.api.ratelimit import FailedAuthLimiter
from tasktrack.api.security import Authenticator
from tasktrack.config import Settings
from tasktrack.domain.identity import Principal
from tasktrack.service.health import Probe
from tasktrack.service.identity import IdentityService
from tasktrack.service.oauth import OAuthService
from tasktrack.service.overview import OverviewService
from tasktrack.service.tasks import TaskService
from tasktrack.service.webhooks import WebhookService
from tasktrack.service.workers import WorkerService
from tasktrack.storage.base import Stores


@dataclass
class ApiContext:
    """The services a request is served with; one per app, built at start-up."""

    settings: Settings
    stores: Stores
    tasks: TaskService
    identity: IdentityService
    authenticator: Authenticator
    oauth: OAuthService
    #: The failed-authentication limiter the token endpoint reports failed grants to.
    limiter: FailedAuthLimiter
    #: The worker registry and the overview (issue 16).
    workers: WorkerService
    overview: OverviewService
    #: Webhook subscriptions (issue 16); None where the database keeps none (memory://).
    webhooks: WebhookService | None = None
    #: Readiness checks beyond the database's (an in-process worker adds its claim loop's).
    probes: list[Probe] = field(default_factory=list)

    async def authenticate(self, request: Request) -> Principal:
        """The caller of ``request``, or :class:`~tasktrack.errors.Unauthenticated`."""
        return await self.authenticator(request)


def context_of(connection: HTTPConnection) -> ApiContext:
    """The context of the app serving ``connection`` (set by the app's lifespan)."""
    ctx: ApiContext = connection.app.state.ctx
    return ctx
