"""``/docs``: Swagger UI's page and files, served by tasktrack under the dashboard's policy."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from tasktrack.web.docs import SWAGGER_DIR, SWAGGER_FILES, docs_routes
from tasktrack.web.routes import CSP, STATIC_DIR


def _client() -> httpx.AsyncClient:
    app = Starlette(routes=docs_routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_the_page_loads_only_files_of_this_server_under_the_strict_policy() -> None:
    async with _client() as client:
        response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text) == []  # nothing inline


@pytest.mark.parametrize("name", sorted(SWAGGER_FILES))
async def test_each_swagger_file_is_served_from_the_package(name: str) -> None:
    async with _client() as client:
        response = await client.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert response.content == (SWAGGER_DIR / name).read_bytes()
    assert response.headers["content-security-policy"] == CSP


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-initializer.js", "swagger-ui.js.map", "../docs.py", "nope"]
)
async def test_nothing_else_of_the_package_is_served(name: str) -> None:
    async with _client() as client:
        response = await client.get(f"/docs/assets/{name}")
    assert response.status_code == 404


def test_the_start_up_script_names_no_other_origin_and_turns_the_validator_off() -> None:
    script = (STATIC_DIR / "docs.js").read_text("utf-8")
    assert "validatorUrl: null" in script
    assert "http" not in script.replace("href", "")
