"""A list's paging facts travel as headers too, in every media type (the CSV body has no room
for them): ``X-Total-Count`` always, ``X-Next-Cursor``/``X-Previous-Cursor`` when there is one.
The route builds them with the renderer's :func:`list_headers`, the one place they are made."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tasktrack.api.app import create_app
from tasktrack.api.context import ApiContext
from tasktrack.api.renderers.csv import list_headers
from tasktrack.config import Settings
from tasktrack.demo import registry
from tasktrack.domain.identity import Principal

MEDIA = ["application/json", "application/hal+json", "application/xml", "text/xml", "text/csv"]
PAGING = ("x-total-count", "x-next-cursor", "x-previous-cursor")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    holder: list[ApiContext] = []
    app = create_app(Settings(database_url="memory://"), registry, on_ready=holder.append)
    async with app.router.lifespan_context(app):
        ctx = holder[0]
        org, user = await ctx.identity.ensure_default()
        _, key = await ctx.identity.create_api_key(user.id)
        for _ in range(5):
            await ctx.tasks.create(Principal(user.id, org.id), "demo.sleep", {"seconds": 1})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers={"X-API-Key": key}
        ) as c:
            yield c


def _paging(response: httpx.Response) -> dict[str, str]:
    return {k.title(): v for k, v in response.headers.items() if k in PAGING}


@pytest.mark.parametrize("accept", MEDIA)
async def test_every_page_carries_its_paging_facts_as_headers(
    client: httpx.AsyncClient, accept: str
) -> None:
    params: dict[str, str | int] = {"limit": 2}
    pages = []
    while True:  # 5 tasks: pages of 2, 2, 1
        reference = (await client.get("/v2.0/tasks", params=params)).json()
        response = await client.get("/v2.0/tasks", params=params, headers={"Accept": accept})
        assert response.status_code == 200
        expected = list_headers(5, reference["nextCursor"], reference["previousCursor"])
        assert _paging(response) == expected
        pages.append(sorted(expected))
        if reference["nextCursor"] is None:
            break
        params = {"limit": 2, "next": reference["nextCursor"]}
    assert pages == [
        ["X-Next-Cursor", "X-Total-Count"],
        ["X-Next-Cursor", "X-Previous-Cursor", "X-Total-Count"],
        ["X-Previous-Cursor", "X-Total-Count"],
    ]
