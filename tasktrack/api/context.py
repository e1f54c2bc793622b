"""What the HTTP adapter holds while it runs: settings, services, and the authenticator."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from tasktrack.api.security import Authenticator
from tasktrack.config import Settings
from tasktrack.domain.identity import Principal
from tasktrack.service.identity import IdentityService
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores


@dataclass
class ApiContext:
    settings: Settings
    stores: Stores
    tasks: TaskService
    identity: IdentityService
    authenticator: Authenticator

    async def authenticate(self, request: Request) -> Principal:
        return await self.authenticator(request)
