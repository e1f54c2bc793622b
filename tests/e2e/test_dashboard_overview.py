"""The dashboard's workers view, no-worker warnings, overview charts and ETAs, in headless
Chromium against a real server with its in-process worker (issue 16).

The seeded ``report.export`` tasks have a type no worker serves, so the queued ones must say
so; ``demo.sleep`` runs, so its tasks move the overview and show an ETA while they run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard
from tests.e2e.test_dashboard import expect_, open_page, row, sign_in_with_key

__all__ = ["open_page"]  # the fixture, used by name

pytestmark = [pytest.mark.xdist_group("dashboard"), pytest.mark.browser]


def test_workers_view_lists_the_live_worker_and_unserved_queued_tasks_say_so(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    page.get_by_role("link", name="Workers").click()
    expect_(page.get_by_role("heading", name="Workers")).to_be_visible()
    worker = page.locator("#workers tbody tr").first
    expect_(worker).to_have_attribute("data-state", "live")
    expect_(worker).to_contain_text("demo.sleep")
    expect_(page.locator("#w-summary")).to_have_text(re.compile(r"^1 live of \d+$"))
    page.screenshot(path=str(artifacts / "dashboard-workers.png"), full_page=True)

    page.get_by_role("link", name="Tasks").click()
    page.select_option("#f-status", "queued")
    expect_(page.locator("#tasks")).not_to_have_attribute("aria-busy", "true")
    queued = page.locator("#rows tr").first
    expect_(queued.locator(".unserved")).to_have_text("no live worker")
    queued.locator("a").first.click()
    banner = page.locator("#detail-unserved")
    expect_(banner).to_be_visible()
    expect_(banner).to_contain_text("No live worker serves task type report.export")

    served = dashboard.create("demo.sleep", {"seconds": 0})
    page.goto(f"{dashboard.base_url}/#/task/{served['_id']}")
    expect_(page.locator("#detail-title")).to_have_text("Task demo.sleep")
    expect_(banner).to_be_hidden()
    assert session.errors == [] and session.off_origin() == []


def _done_count(page: Any) -> int:
    text = page.locator("#o-finished-summary").text_content() or ""
    found = re.search(r"(\d+) done", text)
    return int(found.group(1)) if found else -1


def test_overview_charts_render_and_update_as_tasks_finish(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    page.get_by_role("link", name="Overview").click()
    summary = page.locator("#o-finished-summary")
    expect_(summary).to_have_text(re.compile(r"^In the last hour: \d+ done"))
    expect_(page.locator("#o-finished svg")).to_be_visible()
    expect_(page.locator("#o-depth svg polyline[data-series='queued']")).to_have_count(1)
    expect_(page.locator("#o-depth-summary")).to_have_text(re.compile(r"^Now: \d+ queued"))
    before = _done_count(page)
    bars_before = page.locator("#o-finished rect[data-status='done']").count()

    for _ in range(3):
        dashboard.create("demo.sleep", {"seconds": 0.2})
    # No reload: the page reads the overview again as the live stream reports finished tasks.
    page.wait_for_function(
        "n => { const m = /(\\d+) done/.exec("
        "document.getElementById('o-finished-summary').textContent); return m && +m[1] >= n; }",
        arg=before + 3,
        timeout=30_000,
    )
    assert page.locator("#o-finished rect[data-status='done']").count() >= max(bars_before, 1)
    expect_(page.locator("#durations tr[data-name='demo.sleep']")).to_be_visible()
    page.select_option("#o-hours", "6")
    expect_(page.locator("#o-finished-title")).to_have_text("Tasks finished per 6 minutes")
    page.screenshot(path=str(artifacts / "dashboard-overview.png"), full_page=True)
    assert session.errors == [] and session.off_origin() == []


def test_a_running_tasks_bar_shows_an_eta_that_goes_when_it_ends(
    open_page: Any, dashboard: Dashboard
) -> None:
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    task = dashboard.create("demo.sleep", {"seconds": 4, "steps": 8})
    eta = row(page, task["_id"]).locator(".eta")
    expect_(eta).to_have_text(re.compile(r"^eta 0:0\d$"))
    expect_(row(page, task["_id"]).locator(".badge")).to_have_text("done")
    expect_(eta).to_have_text("")
    assert session.errors == []


def test_the_new_views_fit_a_narrow_screen(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    session = open_page(width=375, height=800)
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    for view, ready in (("Overview", "#o-finished svg"), ("Workers", "#workers tbody tr")):
        page.get_by_role("link", name=view).click()
        expect_(page.locator(ready).first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} scrolls sideways by {overflow}px at 375px"
        page.screenshot(path=str(artifacts / f"dashboard-{view.lower()}-375.png"), full_page=True)
