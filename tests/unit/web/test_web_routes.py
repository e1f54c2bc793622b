"""The dashboard's page and assets: served by tasktrack itself, with a strict CSP, nothing from
another origin, and JavaScript kept small and free of HTML-injecting calls."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tasktrack.api.app import create_app
from tasktrack.config import Settings
from tasktrack.demo import registry
from tasktrack.web.routes import STATIC_DIR, web_routes

SCRIPTS = sorted(STATIC_DIR.glob("*.js"))


def _client() -> httpx.AsyncClient:
    app = Starlette(routes=web_routes())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_the_page_is_served_at_the_root_with_a_strict_policy() -> None:
    async with _client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/static/main.js">' in response.text


@pytest.mark.parametrize("path", sorted(p.name for p in STATIC_DIR.iterdir()))
async def test_every_asset_is_served_and_revalidated(path: str) -> None:
    async with _client() as client:
        response = await client.get(f"/static/{path}")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"
        again = await client.get(
            f"/static/{path}", headers={"If-None-Match": response.headers["etag"]}
        )
    assert again.status_code == 304
    if path.endswith(".js"):  # module scripts need a JavaScript type
        assert "javascript" in response.headers["content-type"]


@pytest.mark.parametrize(
    "path", ["/static/nope.js", "/static/%2e%2e/routes.py", "/static/..%2froutes.py", "/static/"]
)
async def test_nothing_outside_the_assets_is_served(path: str) -> None:
    async with _client() as client:
        response = await client.get(path)
    assert response.status_code == 404


async def test_assets_are_read_only() -> None:
    async with _client() as client:
        response = await client.post("/static/main.js")
    assert response.status_code == 405


def test_the_api_app_mounts_the_dashboard() -> None:
    app = create_app(Settings(database_url="memory://"), registry)
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/", "/static/{path:path}", "/v2.0/events", "/new/v2.0/events"} <= paths


def test_assets_are_flat_so_package_data_ships_them() -> None:
    # pyproject.toml ships web/static/* : a subfolder would be left out of the wheel.
    assert [p for p in STATIC_DIR.iterdir() if p.is_dir()] == []


# A URL with a scheme or a protocol-relative one, where something would be fetched from.
_REMOTE = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?(?:[a-z]+:)?//"""
    r"""|url\(\s*["']?(?:[a-z]+:)?//"""
    r"""|(?:import|from)\s*\(?\s*["'](?:[a-z]+:)?//""",
    re.I,
)


@pytest.mark.parametrize("path", sorted(STATIC_DIR.iterdir()), ids=lambda p: p.name)
def test_no_asset_refers_to_another_origin(path: Path) -> None:
    text = path.read_text("utf-8")
    assert not _REMOTE.search(text)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}  # an XML namespace, never fetched


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (STATIC_DIR / "index.html").read_text("utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_modules_stay_small_and_never_inject_html(path: Path) -> None:
    text = path.read_text("utf-8")
    assert len(text.splitlines()) < 300
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text, f"{path.name} uses {sink}"
    for target in re.findall(r'from\s+"([^"]+)"', text):
        assert target.startswith("./") and (STATIC_DIR / target).is_file(), target


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_the_credential_never_goes_into_a_url_or_local_storage(path: Path) -> None:
    text = path.read_text("utf-8")
    assert "api_key" not in text and "localStorage" not in text and "document.cookie" not in text
    assert "new EventSource" not in text  # it cannot send the credential header


@pytest.mark.parametrize(
    "text",
    [
        '<script src="https://cdn.example/x.js">',
        "<link href=//fonts.example/css>",
        'import { x } from "https://esm.example/x.js";',
        "src: url('https://fonts.example/a.woff2')",
    ],
)
def test_the_remote_reference_check_catches_what_it_must(text: str) -> None:
    assert _REMOTE.search(text)
