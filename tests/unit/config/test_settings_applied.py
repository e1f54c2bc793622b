"""The API app takes its rate-limit and token settings from the Settings it is given (not
from the environment behind their back)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.config import Settings
from tasktrack.demo import registry


@contextlib.asynccontextmanager
async def serving(**settings: object) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app on an in-memory database, started (its lifespan run), and a client of it."""
    app = create_app(Settings(database_url="memory://", **settings), registry)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 1234))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield app, client


async def test_the_failure_limit_comes_from_the_settings() -> None:
    async with serving(auth_failures_per_minute=2) as (_, client):
        codes = [
            (await client.get("/v2.0/tasks", headers={"X-API-Key": "tt_wrong"})).status_code
            for _ in range(3)
        ]
    assert codes == [401, 401, 429]


async def _client_credentials(ctx: ApiContext) -> dict[str, str]:
    org, _ = await ctx.identity.ensure_default()
    client, secret = await ctx.identity.create_oauth_client(org.id)
    return {"grant_type": "client_credentials", "client_id": client.id, "client_secret": secret}


async def test_the_access_token_lifetime_comes_from_the_settings() -> None:
    async with serving(access_token_ttl=42.0) as (app, client):
        form = await _client_credentials(app.state.ctx)
        response = await client.post("/auth/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 42
