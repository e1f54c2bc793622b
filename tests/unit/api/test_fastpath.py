"""The GET-one fast path answers the plain successful read itself, exactly as the routed
handler would, and hands every other request to the routed app untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.types import Receive, Scope, Send

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.api.fastpath import TaskReadFastPath
from tasktrack.config import Settings
from tasktrack.demo import registry
from tasktrack.domain.identity import Principal
from tasktrack.domain.task import Task
from tasktrack.service import passwords
from tasktrack.service.oauth import ClientAuth

MEDIA = ["application/json", "application/hal+json", "application/xml", "text/xml", "text/csv"]


@dataclass
class Setup:
    fast: httpx.AsyncClient  # the whole app: fast path in front of the router
    routed: httpx.AsyncClient  # the same app with the fast path switched off
    passed: list[str]  # paths the fast path handed on to the routed app
    key: str
    bearer: str
    task: Task
    ctx: ApiContext


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: fast)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    holder: list[ApiContext] = []
    app = create_app(Settings(database_url="memory://"), registry, on_ready=holder.append)
    passed: list[str] = []
    enabled = [True]

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        # Wraps the routed app the way the middleware stack does, to see what reaches it.
        if scope["type"] == "http":
            passed.append(scope["path"])
        scope["app"] = app  # as Starlette.__call__ does: routes find the context on app.state
        await app.router(scope, receive, send)

    fast = TaskReadFastPath(recording, lambda: holder[0] if holder and enabled[0] else None)
    async with app.router.lifespan_context(app):
        ctx = holder[0]
        org, user = await ctx.identity.ensure_default()
        _, key = await ctx.identity.create_api_key(user.id)
        client, secret = await ctx.identity.create_oauth_client(org.id)
        grant = await ctx.oauth.client_credentials_grant(ClientAuth(client.id, secret))
        task = await ctx.tasks.create(
            Principal(user.id, org.id), "demo.sleep", {"seconds": 1, "steps": 3}
        )

        async def switch_off(scope: Scope, receive: Receive, send: Send) -> None:
            enabled[0] = False
            try:
                await fast(scope, receive, send)
            finally:
                enabled[0] = True

        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=fast), base_url="http://t") as a,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=switch_off), base_url="http://t"
            ) as b,
        ):
            yield Setup(a, b, passed, key, grant.access_token, task, ctx)


def _credential(setup: Setup, kind: str) -> tuple[str, dict[str, str]]:
    """(query string, headers) presenting the caller's credential of ``kind``."""
    if kind == "query":
        return f"?api_key={setup.key}", {}
    if kind == "bearer":
        return "", {"Authorization": f"Bearer {setup.bearer}"}
    return "", {"X-API-Key": setup.key}


@pytest.mark.parametrize("credential", ["header", "query", "bearer"])
@pytest.mark.parametrize("prefix", ["/v2.0", "/new/v2.0"])
@pytest.mark.parametrize("accept", [None, *MEDIA])
async def test_the_fast_read_is_the_routed_read(
    setup: Setup, prefix: str, accept: str, credential: str
) -> None:
    query, headers = _credential(setup, credential)
    headers |= {"Accept": accept} if accept else {}
    url = f"{prefix}/tasks/{setup.task.id}{query}"
    fast = await setup.fast.get(url, headers=headers)
    assert setup.passed == []  # answered without the router
    routed = await setup.routed.get(url, headers=headers)
    assert setup.passed == [url.partition("?")[0]]
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert fast.headers.multi_items() == routed.headers.multi_items()
    if accept in (None, "application/hal+json"):  # the links keep the prefix asked for
        assert f'"href":"{prefix}/tasks/{setup.task.id}"'.encode() in fast.content


@pytest.mark.parametrize(
    ("query", "headers", "with_key", "status"),
    [
        ("", {"X-API-Key": "tt_wrong"}, False, 401),  # failures: the routed app reports them
        ("", {}, False, 401),
        ("", {"Authorization": "Bearer nope"}, False, 401),
        ("", {"Accept": "image/png"}, True, 406),
        ("?wait=0", {}, True, 200),
        ("?projectId=abc", {}, True, 404),
        ("?api_key=x&api_key=y", {}, False, 401),
        ("", {"Authorization": "Basic dTpw"}, True, 401),  # two credentials: security.py refuses
        ("", {"Authorization": "Bearer"}, False, 401),
    ],
)
async def test_everything_else_goes_to_the_routed_app(
    setup: Setup, query: str, headers: dict[str, str], with_key: bool, status: int
) -> None:
    if with_key:
        headers = {"X-API-Key": setup.key, **headers}
    url = f"/v2.0/tasks/{setup.task.id}"
    response = await setup.fast.get(url + query, headers=headers)
    assert response.status_code == status
    assert setup.passed == [url]
    if status >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_missing_task_and_other_routes_pass_through(setup: Setup) -> None:
    missing = "0" * 24
    response = await setup.fast.get(f"/v2.0/tasks/{missing}", headers={"X-API-Key": setup.key})
    assert response.status_code == 404
    assert response.json()["detail"] == f"Task {missing} not found"
    for path in ["/v2.0/tasks/not-an-id", "/v2.0/tasks", "/health"]:
        await setup.fast.get(path, headers={"X-API-Key": setup.key})
    await setup.fast.post(f"/v2.0/tasks/{setup.task.id}/cancel", headers={"X-API-Key": setup.key})
    assert setup.passed == [
        f"/v2.0/tasks/{missing}",
        "/v2.0/tasks/not-an-id",
        "/v2.0/tasks",
        "/health",
        f"/v2.0/tasks/{setup.task.id}/cancel",
    ]


async def test_a_revoked_key_stops_at_once_on_the_fast_path(setup: Setup) -> None:
    url = f"/v2.0/tasks/{setup.task.id}"
    assert (await setup.fast.get(url, headers={"X-API-Key": setup.key})).status_code == 200
    key_id = setup.key.split("_")[1]
    await setup.ctx.identity.revoke_api_key(key_id)
    response = await setup.fast.get(url, headers={"X-API-Key": setup.key})
    assert response.status_code == 401


@pytest.mark.parametrize("credential", ["header", "query", "bearer"])
@pytest.mark.parametrize("tag", ["current", "stale", "*"])
async def test_conditional_reads_are_answered_as_routed(
    setup: Setup, credential: str, tag: str
) -> None:
    query, headers = _credential(setup, credential)
    current = f'W/"{setup.task.id}.{setup.task.version}"'
    headers["If-None-Match"] = {"current": current, "stale": f'W/"{setup.task.id}.0"'}.get(tag, tag)
    url = f"/v2.0/tasks/{setup.task.id}{query}"
    fast = await setup.fast.get(url, headers=headers)
    assert setup.passed == []
    routed = await setup.routed.get(url, headers=headers)
    assert fast.status_code == routed.status_code == (304 if tag == "current" else 200)
    assert fast.content == routed.content
    assert fast.headers.multi_items() == routed.headers.multi_items()
    assert fast.headers["etag"] == current


@pytest.mark.parametrize("credential", ["query", "bearer"])
async def test_revocation_stops_every_credential_at_once(setup: Setup, credential: str) -> None:
    query, headers = _credential(setup, credential)
    url = f"/v2.0/tasks/{setup.task.id}{query}"
    assert (await setup.fast.get(url, headers=headers)).status_code == 200
    if credential == "query":
        await setup.ctx.identity.revoke_api_key(setup.key.split("_")[1])
    else:
        await setup.ctx.oauth.revoke(setup.bearer)
    response = await setup.fast.get(url, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
