"""The detail view's history panels (issue 13), end to end in headless Chromium.

A ``dash.answer`` task (tests/apps/dashboard.py: logs a line per step, returns
``{"answer": 42, ...}``) run by the server's own worker: its detail view shows the result, one
attempt ended ``done`` and the log lines, followed live while it runs. A failed task's Re-run
button creates a new task, and both views link to each other.

Each test needs its resource on the server; one the server does not have yet (404/405) skips
the test that needs it, saying which.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard
from tests.e2e.test_dashboard import (
    assert_every_control_labelled,
    cancel_quietly,
    expect_,
    sign_in_with_key,
)
from tests.e2e.test_dashboard import open_page as open_page  # the fixture

pytestmark = pytest.mark.xdist_group("dashboard")

ANSWER = "dash.answer"


def require(dashboard: Dashboard, method: str, task_id: str, tail: str) -> None:
    """Skip unless the server has ``method /v2.0/tasks/{id}/{tail}`` (this build may not)."""
    with dashboard.api() as api:
        response = api.request(method, f"/v2.0/tasks/{task_id}/{tail}")
    if response.status_code in (404, 405):
        pytest.skip(f"{method} /v2.0/tasks/{{id}}/{tail} is not served by this build")


def wait_status(dashboard: Dashboard, task_id: str, *statuses: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with dashboard.api() as api:
        while time.monotonic() < deadline:
            if api.get(f"/v2.0/tasks/{task_id}").json()["status"] in statuses:
                return
            time.sleep(0.05)
    raise AssertionError(f"task {task_id} never reached {statuses}")


def open_detail(page: Any, task_id: str) -> None:
    page.evaluate("id => { location.hash = `#/task/${id}`; }", task_id)
    expect_(page.locator("#detail-body dt").first).to_be_visible()


def status_badge(page: Any) -> Any:
    return page.locator("#detail-body .badge")


def log_messages(page: Any) -> Any:
    return page.locator("#log-lines td.message")


@pytest.mark.browser
def test_a_done_tasks_result(open_page: Any, dashboard: Dashboard) -> None:
    task = dashboard.create(ANSWER, {"steps": 2, "pause": 0.2, "label": "from the browser"})
    require(dashboard, "GET", task["_id"], "result")
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    open_detail(page, task["_id"])
    # The view was opened while the task queued or ran: the live change to done reloads it.
    expect_(status_badge(page)).to_have_text("done")
    expected = json.dumps({"answer": 42, "label": "from the browser"}, indent=2)
    expect_(page.locator("#result-value")).to_have_text(expected)
    expect_(page.get_by_role("region", name="Result")).to_be_visible()
    expect_(page.get_by_role("button", name="Re-run")).to_be_visible()
    assert session.errors == []
    assert session.off_origin() == []


@pytest.mark.browser
def test_a_done_tasks_one_attempt(open_page: Any, dashboard: Dashboard) -> None:
    task = dashboard.create(ANSWER, {"steps": 2, "pause": 0.2})
    require(dashboard, "GET", task["_id"], "attempts")
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    open_detail(page, task["_id"])
    expect_(status_badge(page)).to_have_text("done")
    attempts = page.locator("#attempts tbody tr")
    expect_(attempts).to_have_count(1)
    expect_(attempts.first).to_have_attribute("data-outcome", "done")
    cells = attempts.first.locator("td")
    expect_(cells.nth(0)).to_have_text("1")
    expect_(cells.nth(1)).not_to_have_text("\u2013")  # the worker's id, not a dash
    expect_(cells.nth(4)).to_have_text(re.compile(r"^\d+(\.\d)? m?s$"))  # the duration
    assert session.errors == []
    assert session.off_origin() == []


@pytest.mark.browser
def test_a_running_tasks_log_is_followed_live_until_it_ends(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    probe = dashboard.create(ANSWER, {"steps": 1})
    require(dashboard, "GET", probe["_id"], "logs")
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    task = dashboard.create(ANSWER, {"steps": 6, "pause": 0.6})
    open_detail(page, task["_id"])
    expect_(status_badge(page)).to_have_text("active")
    expect_(page.get_by_role("button", name="Re-run")).to_have_count(0)  # not while it runs
    # A line arrives while the task still runs: the view follows the log, no reload needed.
    expect_(log_messages(page).first).to_have_text("starting 6 steps")
    page.wait_for_function(
        "() => document.querySelector('#detail-body .badge')?.textContent === 'active'"
        " && document.querySelectorAll('#log-lines tr').length >= 2"
    )
    expect_(status_badge(page)).to_have_text("done")
    messages = ["starting 6 steps", *[f"step {i} of 6" for i in range(1, 7)], "about to answer"]
    expect_(log_messages(page)).to_have_text(messages)
    levels = page.locator("#log-lines tr").evaluate_all("rs => rs.map(r => r.dataset.level)")
    assert levels == ["INFO"] * 7 + ["WARNING"]
    attempts = page.locator("#log-lines tr td:nth-child(3)").all_inner_texts()
    assert attempts == ["1"] * 8
    expect_(page.locator("#logs-state")).to_have_text("The task has ended.")
    log_requests = [u for u in session.urls if f"/tasks/{task['_id']}/logs?" in u]
    assert len(log_requests) <= 12, "the log is long-polled, not polled in a tight loop"
    expect_(page.get_by_role("button", name="Re-run")).to_be_visible()
    expect_(page.locator("#result-value")).to_contain_text('"answer": 42')
    page.screenshot(path=str(artifacts / "dashboard-detail.png"), full_page=True)
    assert session.errors == []


@pytest.mark.browser
def test_re_run_a_failed_task_and_follow_the_links_both_ways(
    open_page: Any, dashboard: Dashboard
) -> None:
    failed = dashboard.create("demo.fail", {"message": "quota exceeded"})
    wait_status(dashboard, failed["_id"], "error")
    require(dashboard, "GET", failed["_id"], "details")
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    open_detail(page, failed["_id"])
    expect_(status_badge(page)).to_have_text("error")
    expect_(page.locator("#result-reason")).to_have_text("quota exceeded")
    expect_(page.get_by_role("region", name="Re-runs")).to_be_hidden()  # none yet

    page.get_by_role("button", name="Re-run").click()
    expect_(page).not_to_have_url(f"{dashboard.base_url}/#/task/{failed['_id']}")
    new_id = page.url.rsplit("/", 1)[-1]
    assert len(new_id) == 24 and new_id != failed["_id"]
    expect_(page.get_by_role("heading", name="Task demo.fail")).to_be_visible()
    back = page.locator("#rerun-of a")
    expect_(back).to_have_text(failed["_id"])
    with dashboard.api() as api:
        rerun = api.get(f"/v2.0/tasks/{new_id}").json()
    assert rerun["name"] == "demo.fail" and rerun["data"] == failed["data"]

    back.click()
    expect_(page).to_have_url(f"{dashboard.base_url}/#/task/{failed['_id']}")
    expect_(page.locator("#reruns a")).to_have_text([new_id])
    page.locator("#reruns a").click()
    expect_(page.locator("#rerun-of a")).to_have_text(failed["_id"])
    assert session.errors == []
    assert session.off_origin() == []


#: GET /tasks/{id}/attempts as documented (docs/dashboard.md, issue 13): two ended attempts
#: and the running one the server synthesizes from the task row.
ATTEMPTS = {
    "items": [
        {"attempt": 1, "workerId": "w-one", "startedAt": "2026-12-01T03:00:00Z",
         "endedAt": "2026-12-01T03:00:02Z", "outcome": "error", "reason": "disk full",
         "durationMs": 2345},
        {"attempt": 2, "workerId": "w-two", "startedAt": "2026-12-01T03:01:00Z",
         "endedAt": "2026-12-01T03:01:30Z", "outcome": "timeout",
         "reason": "timed out after 30s", "durationMs": 30000},
        {"attempt": 3, "workerId": "w-one", "startedAt": "2026-12-01T03:02:00Z",
         "endedAt": None, "outcome": "running", "reason": "", "durationMs": None},
    ],
    "total": 3,
}  # fmt: skip


RESULT_ROUTE = "**/v2.0/tasks/*/result"


# The attempts table against the documented shape, served by the page's own network stub so
# it runs whatever this build's server offers (the result too: a 409 while the task runs);
# at 375 px, where each attempt is a card.
@pytest.mark.browser
def test_attempts_table_shows_every_column_of_the_documented_shape(
    open_page: Any, dashboard: Dashboard
) -> None:
    session = open_page(375, 812)
    page = session.page
    page.route(
        "**/v2.0/tasks/*/attempts",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(ATTEMPTS)
        ),
    )
    unfinished = {"title": "Conflict", "status": 409, "code": 1004, "detail": "not finished"}
    page.route(
        RESULT_ROUTE,
        lambda route: route.fulfill(
            status=409, content_type="application/problem+json", body=json.dumps(unfinished)
        ),
    )
    sign_in_with_key(page, dashboard.api_key)
    task = dashboard.create("demo.sleep", {"seconds": 600, "steps": 600})
    try:
        open_detail(page, task["_id"])
        expect_(status_badge(page)).to_have_text("active")
        rows = page.locator("#attempts tbody tr")
        expect_(rows).to_have_count(3)
        texts = [[cell.strip() for cell in r.locator("td").all_inner_texts()] for r in rows.all()]
        assert [t[0] for t in texts] == ["1", "2", "3"]
        assert [t[1] for t in texts] == ["w-one", "w-two", "w-one"]
        assert [t[3] for t in texts] == ["2026-12-01T03:00:02Z", "2026-12-01T03:01:30Z", "running"]
        assert [t[4] for t in texts] == ["2.3 s", "30.0 s", "\u2013"]
        assert [t[5] for t in texts] == ["error", "timeout", "running"]
        assert [t[6] for t in texts] == ["disk full", "timed out after 30s", ""]
        expect_(page.locator("#result-body")).to_have_text("Not finished yet.")  # a 409
        expect_(page.get_by_role("button", name="Re-run")).to_have_count(0)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert_every_control_labelled(page, "the detail view with its history")
        page.unroute(RESULT_ROUTE)
    finally:
        cancel_quietly(dashboard, task["_id"])
    expect_(status_badge(page)).to_have_text("cancelled")
    expect_(page.get_by_role("button", name="Re-run")).to_be_visible()
    assert session.errors == []
