"""``/docs`` in a real browser: Swagger UI of the server's own OpenAPI document, loaded from
the server alone under the dashboard's Content-Security-Policy; authorise with an API key and
run "read one task" against the live server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard

pytestmark = pytest.mark.xdist_group("dashboard")


def expect_(target: Any) -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    return expect(target)


@pytest.fixture
def docs_page(browser: Any, dashboard: Dashboard) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The /docs page, with every URL it requested and every error or CSP report."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    urls: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security" in msg.text else None,
    )
    page.goto(dashboard.base_url + "/docs")
    try:
        yield page, urls, errors
    finally:
        context.close()


@pytest.mark.browser
def test_docs_page_authorises_with_a_key_and_reads_one_task(
    docs_page: tuple[Any, list[str], list[str]], dashboard: Dashboard, artifacts: Path
) -> None:
    page, urls, errors = docs_page
    task = dashboard.create("demo.fail", {"message": "seen through /docs"})
    expect_(page.locator(".info .title")).to_contain_text("tasktrack Tasks API")

    page.get_by_role("button", name="Authorize").first.click()
    scheme = page.locator(".auth-container").filter(has_text="ApiKeyHeader")
    scheme.locator("input").fill(dashboard.api_key)
    scheme.get_by_role("button", name="Apply credentials").click()
    expect_(scheme.get_by_role("button", name="Remove authorization")).to_be_visible()
    page.get_by_role("button", name="Close").first.click()

    operation = page.locator("#operations-Tasks-readTask")
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator('input[placeholder="taskId"]').fill(task["_id"])
    operation.get_by_role("button", name="Execute").click()

    live = operation.locator(".live-responses-table tbody")
    expect_(live.locator(".response-col_status").first).to_have_text("200")
    body = live.locator(".response-col_description pre").first
    expect_(body).to_contain_text(task["_id"])
    shown = json.loads(body.inner_text())
    assert (shown["_id"], shown["name"]) == (task["_id"], "demo.fail")
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)

    assert [u for u in urls if not u.startswith(dashboard.base_url + "/")] == []
    assert not any(dashboard.api_key in u for u in urls)  # sent as a header, never in a URL
    assert errors == []
