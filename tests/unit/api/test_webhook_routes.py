"""The webhook routes' own answers, in process: bad bodies are 400 problem+json naming the
field, and a database that keeps no outbox (``memory://``) is a clear 501."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.config import Settings
from tasktrack.demo import registry

PROBLEM = "application/problem+json"


async def _client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    holder: list[ApiContext] = []
    app = create_app(Settings(database_url=url), registry, on_ready=holder.append)
    async with app.router.lifespan_context(app):
        _, user = await holder[0].identity.ensure_default()
        _, key = await holder[0].identity.create_api_key(user.id)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers={"X-API-Key": key}
        ) as client:
            yield client


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(f"sqlite:///{tmp_path / 'w.db'}"):
        yield client


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([], "the body must be a JSON object"),
        ({}, "url is required"),
        ({"url": 5}, "url is required"),
        ({"url": "http://x", "events": "task.done"}, "events must be a list"),
        ({"url": "http://x", "events": [1]}, "events must be a list"),
        ({"url": "http://x", "description": 3}, "description must be a string"),
        ({"url": "http://x", "description": "d" * 201}, "description is longer than 200"),
        ({"url": "http://x", "events": []}, "at least one event"),
    ],
)
async def test_bad_bodies_are_400s(sqlite: httpx.AsyncClient, body: object, detail: str) -> None:
    reply = await sqlite.post("/v2.0/webhooks", json=body)
    assert reply.status_code == 400
    assert reply.headers["content-type"] == PROBLEM
    assert detail in reply.json()["detail"]


async def test_other_failures_are_problems(sqlite: httpx.AsyncClient) -> None:
    text = await sqlite.post(
        "/v2.0/webhooks", content=b"url=x", headers={"content-type": "text/plain"}
    )
    assert text.status_code == 415
    assert (await sqlite.get("/v2.0/webhooks/nope")).status_code == 400
    assert (await sqlite.get("/v2.0/webhooks/" + "a" * 24)).status_code == 404
    bad_limit = await sqlite.get("/v2.0/webhooks/" + "a" * 24 + "/deliveries?limit=0")
    assert bad_limit.status_code == 400
    unauthenticated = await sqlite.get("/v2.0/webhooks", headers={"X-API-Key": ""})
    assert unauthenticated.status_code == 401


async def test_memory_database_answers_501() -> None:
    async for client in _client("memory://"):
        reply = await client.get("/v2.0/webhooks")
        assert reply.status_code == 501
        assert reply.headers["content-type"] == PROBLEM
        assert "SQLite or PostgreSQL" in reply.json()["detail"]
