"""The dashboard's "Scheduled" view (issue 14), end to end in headless Chromium: tasks created
to run later are listed soonest first with their due time, priority and queue; a task that
is cancelled leaves the list; each row opens the task's detail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard
from tests.e2e.test_dashboard import assert_every_control_labelled, expect_, sign_in_with_key
from tests.e2e.test_dashboard import open_page as open_page  # the fixture

pytestmark = pytest.mark.xdist_group("dashboard")


def create_later(dashboard: Dashboard, delay: float, priority: int) -> dict[str, Any]:
    with dashboard.api() as api:
        body = {"name": "demo.sleep", "data": {}, "delaySeconds": delay, "priority": priority}
        response = api.post("/v2.0/tasks", json=body)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


@pytest.mark.browser
def test_the_scheduled_view_lists_waiting_tasks_soonest_first(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    later = create_later(dashboard, 9000, 1)
    sooner = create_later(dashboard, 5000, 9)
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    page.get_by_role("link", name="Scheduled").click()
    expect_(page.get_by_role("heading", name="Scheduled")).to_be_visible()
    rows = page.locator("#scheduled-rows tr")
    ids = [sooner["_id"], later["_id"]]
    expect_(rows.filter(has=page.locator(f'a[href="#/task/{ids[0]}"]'))).to_have_count(1)
    listed = [r for r in rows.evaluate_all("rs => rs.map(r => r.dataset.id)") if r in ids]
    assert listed == ids  # soonest first
    first = page.locator(f'#scheduled-rows tr[data-id="{ids[0]}"]')
    expect_(first.locator("td").nth(1)).to_have_text("in 1 h")
    expect_(first.locator("td").nth(2)).to_have_text("9")
    expect_(first.locator("td").nth(3)).to_have_text("default")
    assert_every_control_labelled(page, "the scheduled view")
    page.screenshot(path=str(artifacts / "scheduled-view.png"))

    with dashboard.api() as api:
        assert api.post(f"/v2.0/tasks/{ids[0]}/cancel").json()["status"] == "cancelled"
    page.get_by_role("button", name="Refresh").click()
    expect_(first).to_have_count(0)
    page.locator(f'#scheduled-rows tr[data-id="{ids[1]}"] a').click()
    expect_(page.locator("#detail-body dt").first).to_be_visible()
    assert page.evaluate("location.hash") == f"#/task/{ids[1]}"
    assert not session.errors and not session.off_origin()
