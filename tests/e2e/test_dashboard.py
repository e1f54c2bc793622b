"""The dashboard end to end: a real server (worker on) and headless Chromium via Playwright.

Sign in (API key, or e-mail and password through the token endpoint), watch a ``demo.sleep``
task's bar climb to done without reloading, cancel another through the confirmation dialog,
filter, page, open a task's detail and its JSON/XML/CSV; at 375 px with the keyboard alone.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import (
    FAIL_REASON,
    HOSTILE_DATA,
    HOSTILE_NAME,
    REPORTS,
    Dashboard,
    off_loop,
)
from tests.integration.conftest import start_server, stop_server

pytestmark = pytest.mark.xdist_group("dashboard")

FIELDS = [
    "name", "data", "status", "currentStep", "totalStep", "failReason", "lastRunAt",
    "lastFinishedAt", "_id", "createdAt", "lastChanged", "createdBy", "lastChangedBy",
]  # fmt: skip

#: Every visible control, and the accessible name it would be announced with.
UNNAMED_CONTROLS_JS = """() => {
  const text = (s) => (s || "").trim();
  const named = (el) =>
    text(el.getAttribute("aria-label")) ||
    text((el.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .map((id) => document.getElementById(id)?.textContent).join(" ")) ||
    text([...(el.labels || [])].map((l) => l.textContent).join(" ")) ||
    (["BUTTON", "A"].includes(el.tagName) ? text(el.textContent) : "") ||
    text(el.getAttribute("title"));
  const controls = [...document.querySelectorAll(
    "input, select, textarea, button, progress, a[href], [tabindex]:not([tabindex='-1'])")]
    .filter((el) => el.checkVisibility());
  return {count: controls.length,
          unnamed: controls.filter((el) => !named(el)).map((el) => el.outerHTML.slice(0, 160))};
}"""


@dataclass
class Session:
    """A browser page on the dashboard, with every URL it requested and every page error."""

    page: Any
    base_url: str
    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def off_origin(self) -> list[str]:
        return [u for u in self.urls if not u.startswith((self.base_url + "/", "blob:", "data:"))]


@pytest.fixture
def open_page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    contexts = []

    def open_(width: int = 1280, height: int = 900) -> Session:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        session = Session(page, dashboard.base_url)
        page.on("request", lambda request: session.urls.append(request.url))
        page.on("pageerror", lambda error: session.errors.append(str(error)))
        page.on(
            "console",
            lambda msg: session.errors.append(msg.text) if "Content Security" in msg.text else None,
        )
        page.goto(dashboard.base_url + "/")
        return session

    yield open_
    for context in contexts:
        context.close()


def expect_(target: Any) -> Any:
    """Playwright's ``expect`` (imported late: the module must load without Playwright)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    return expect(target)


def sign_in_with_key(page: Any, key: str) -> None:
    expect_(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect_(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect_(page.locator("#live-text")).to_have_text("Live")


def row(page: Any, task_id: str) -> Any:
    return page.locator(f'tr[data-id="{task_id}"]')


def assert_every_control_labelled(page: Any, where: str) -> None:
    audit = page.evaluate(UNNAMED_CONTROLS_JS)
    assert audit["count"] > 0, where
    assert audit["unnamed"] == [], f"controls without a label in {where}: {audit['unnamed']}"


def cancel_quietly(dashboard: Dashboard, *task_ids: str) -> None:
    with dashboard.api() as api:
        for task_id in task_ids:
            api.post(f"/v2.0/tasks/{task_id}/cancel")


# 1, 2, 3 and 5: sign in, a bar climbs live to done, a cancel through the dialog; screenshot.
@pytest.mark.browser
def test_sign_in_watch_a_task_run_to_done_live_and_cancel_another(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)
    page.evaluate("window.__sameDocument = true")
    list_requests_before = sum("/v2.0/tasks?" in u for u in session.urls)

    sleeper = dashboard.create("demo.sleep", {"seconds": 4, "steps": 8})
    bar = row(page, sleeper["_id"]).get_by_role("progressbar")
    expect_(bar).to_have_attribute("max", "8")
    # The bar moves through intermediate steps, without a reload of the page or the list.
    page.wait_for_function(
        "id => { const b = document.querySelector(`tr[data-id='${id}'] progress`);"
        " return b && b.value > 0 && b.value < b.max; }",
        arg=sleeper["_id"],
    )
    expect_(row(page, sleeper["_id"]).locator(".badge")).to_have_text("done")
    expect_(bar).to_have_attribute("value", "8")
    expect_(row(page, sleeper["_id"])).to_contain_text("8 / 8")
    assert page.evaluate("window.__sameDocument") is True
    list_requests = sum("/v2.0/tasks?" in u for u in session.urls) - list_requests_before
    assert list_requests <= 3, "progress must arrive on the event stream, not by polling"
    assert sum("/v2.0/events" in u for u in session.urls) == 1

    long = dashboard.create("demo.sleep", {"seconds": 600, "steps": 600})
    failing = dashboard.create("demo.fail", {"message": "quota exceeded"})
    try:
        expect_(row(page, long["_id"]).locator(".badge")).to_have_text("active")
        expect_(row(page, failing["_id"]).locator(".badge")).to_have_text("error")
        expect_(row(page, failing["_id"])).to_contain_text("quota exceeded")
        cancel = page.get_by_role("button", name=f"Cancel demo.sleep {long['_id']}")
        dialog = page.get_by_role("dialog", name="Cancel this task?")
        cancel.click()
        expect_(dialog).to_be_visible()
        expect_(dialog).to_contain_text(long["_id"])
        dialog.get_by_role("button", name="Keep it running").click()
        expect_(dialog).to_be_hidden()
        expect_(row(page, long["_id"]).locator(".badge")).to_have_text("active")
        cancel.click()
        dialog.get_by_role("button", name="Cancel task").click()
        expect_(row(page, long["_id"]).locator(".badge")).to_have_text(
            re.compile("^cancell(ing|ed)$")
        )
        expect_(row(page, long["_id"]).locator(".badge")).to_have_text("cancelled")
        expect_(cancel).to_have_count(0)  # nothing left to cancel
    finally:
        cancel_quietly(dashboard, long["_id"])
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    assert session.off_origin() == []
    assert not any(dashboard.api_key in u for u in session.urls)
    assert session.errors == []


# 3: password sign-in through the token endpoint; nothing secret in a URL; sign-out forgets.
@pytest.mark.browser
def test_password_sign_in_keeps_secrets_out_of_urls_and_sign_out_forgets_them(
    open_page: Any, dashboard: Dashboard
) -> None:
    with httpx.Client(base_url=dashboard.base_url) as client:
        if client.post("/auth/oauth2/token", data={}).status_code in (404, 405):
            pytest.skip("the token endpoint is not mounted in this build")
    session = open_page()
    page = session.page
    page.get_by_role("radio", name="e-mail and password").check()
    page.get_by_label("E-mail", exact=True).fill(dashboard.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect_(page.locator("#signin-error")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(dashboard.password)
    page.get_by_role("button", name="Sign in").click()
    expect_(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect_(page.locator("#whoami")).to_contain_text(dashboard.email)
    expect_(page.get_by_role("link", name=re.compile("^report.export"))).not_to_have_count(0)
    expect_(page.get_by_label("Password", exact=True)).to_have_value("")  # not left in the DOM

    stored = json.loads(page.evaluate("sessionStorage.getItem('tasktrack.credential')"))
    access = stored["access"]
    assert stored["kind"] == "bearer" and access and stored["refresh"]
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    page.reload()  # the tab keeps its sign-in
    expect_(page.locator("#whoami")).to_contain_text(dashboard.email)

    with page.expect_response(lambda r: r.url.endswith("/auth/oauth2/revoke")) as revoke:
        page.get_by_role("button", name="Sign out").click()
    assert revoke.value.status == 200
    expect_(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect_(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect_(page.locator("#whoami")).to_have_text("")
    expect_(page.locator("#rows tr")).to_have_count(0)
    assert page.evaluate("sessionStorage.length") == 0
    page.reload()
    expect_(page.get_by_role("heading", name="Sign in")).to_be_visible()
    with httpx.Client(base_url=dashboard.base_url) as client:  # the grant is revoked too
        revoked = client.get("/v2.0/tasks", headers={"Authorization": f"Bearer {access}"})
    assert revoked.status_code == 401

    secrets = (dashboard.password, access, stored["refresh"], "not the password")
    for url in [*session.urls, page.url]:
        assert not any(s in url for s in secrets), url
    assert session.off_origin() == []
    assert session.errors == []


# 1: filters, cursor paging, the detail view with every field and its three representations.
@pytest.mark.browser
def test_filter_page_and_open_a_task_in_every_representation(
    open_page: Any, dashboard: Dashboard
) -> None:
    session = open_page()
    page = session.page
    sign_in_with_key(page, dashboard.api_key)

    hostile = page.locator("#rows tr", has_text="mail.send")
    expect_(hostile.locator(".name")).to_have_text(HOSTILE_NAME)  # as text, not markup
    assert page.locator("#rows img").count() == 0

    page.get_by_label("Name contains").fill("report")
    expect_(page.locator("#total")).to_have_text(f"{REPORTS} tasks")
    page.evaluate(KEEP_ROWS_JS)
    page.get_by_label("Status").select_option(label="Error")
    expect_(page.locator("#total")).to_have_text(f"{REPORTS // 4} tasks")
    # A row on both pages is the same element, never detached: a click that lands while the
    # page reloads (a live change, a new filter) reaches it rather than vanishing.
    kept, same = page.evaluate(KEPT_ROWS_JS)
    assert kept > 0 and same == kept, f"{same} of {kept} rows kept their element"
    expect_(page.locator("#rows .badge")).to_have_text(["error"] * (REPORTS // 4))
    expect_(page.locator("#rows .reason").first).to_have_text(FAIL_REASON)

    page.get_by_role("button", name="Clear filters").click()
    page.get_by_label("Name contains").fill("report")
    page.get_by_label("Per page").select_option("10")
    expect_(page.locator("#rows tr")).to_have_count(10)
    expect_(page.locator("#total")).to_have_text(f"{REPORTS} tasks")
    newer, older = (page.get_by_role("button", name=n) for n in ("← Newer", "Older →"))
    expect_(newer).to_be_disabled()
    pages = []
    for size in (10, 10, REPORTS - 20):
        expect_(page.locator("#rows tr")).to_have_count(size)
        pages.append(page.locator("#rows tr").evaluate_all("rs => rs.map(r => r.dataset.id)"))
        if len(pages) < 3:
            older.click()
            expect_(page.locator("#rows tr").first).not_to_have_attribute("data-id", pages[-1][0])
    expect_(older).to_be_disabled()
    walked = [i for p in pages for i in p]
    assert len(set(walked)) == REPORTS and walked == sorted(walked, reverse=True)  # newest first
    newer.click()
    expect_(page.locator("#rows tr").first).to_have_attribute("data-id", pages[1][0])

    error_id = page.locator("#rows tr[data-status=error]").first.get_attribute("data-id")
    assert error_id in pages[1]
    row(page, error_id).get_by_role("link").click()
    expect_(page.get_by_role("heading", name="Task report.export")).to_be_focused()
    expect_(page.locator("#detail-body dt")).to_have_text(FIELDS)
    with dashboard.api() as api:
        task = api.get(f"/v2.0/tasks/{error_id}").json()
    expect_(page.locator("#detail-body pre")).to_have_text(json.dumps(task["data"], indent=2))
    expect_(page.locator("#detail-body")).to_contain_text(FAIL_REASON)
    expect_(page.locator("#detail-body")).to_contain_text(task["createdBy"])

    shown = {}
    for label in ("JSON", "XML", "CSV"):
        with page.expect_popup() as popup_info:
            page.get_by_role("button", name=f"Open as {label}").click()
        popup = popup_info.value
        popup.wait_for_load_state()
        assert popup.url.startswith("blob:")
        shown[label] = popup.evaluate("new XMLSerializer().serializeToString(document)")
        popup.close()
    assert f'"_id":"{error_id}"' in shown["JSON"].replace(" ", "")
    assert f"<_id>{error_id}</_id>" in shown["XML"].replace("&lt;", "<").replace("&gt;", ">")
    assert "name,data,status,currentStep" in shown["CSV"] and error_id in shown["CSV"]

    page.get_by_role("link", name="← All tasks").click()
    expect_(page.locator("#rows tr")).to_have_count(10)  # back to the same filtered page
    expect_(page.get_by_label("Name contains")).to_have_value("report")

    page.get_by_label("Name contains").fill("mail.send")
    hostile.get_by_role("link").click()
    expect_(page.locator("#detail-body pre")).to_contain_text(HOSTILE_DATA["body"])
    assert page.evaluate("window.__xss") is None
    assert session.off_origin() == []
    assert not any(dashboard.api_key in u for u in session.urls)
    assert session.errors == []


KEEP_ROWS_JS = """() => { window.__rows = new Map(
  [...document.querySelectorAll('#rows tr')].map((r) => [r.dataset.id, r])); }"""
KEPT_ROWS_JS = """() => {
  const kept = [...document.querySelectorAll('#rows tr')]
    .filter((r) => window.__rows.has(r.dataset.id));
  return [kept.length, kept.filter((r) => window.__rows.get(r.dataset.id) === r).length];
}"""


def tab_until(page: Any, predicate: str, limit: int = 120, key: str = "Tab") -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(predicate):
            return
    raise AssertionError(f"{predicate} never became true within {limit} presses of {key}")


def focused_is(attribute: str, value: str) -> str:
    return f"() => document.activeElement?.getAttribute({attribute!r}) === {value!r}"


# 5: 375 px wide, keyboard only, every control labelled, focus visible; screenshot.
@pytest.mark.browser
def test_narrow_screen_keyboard_only_with_every_control_labelled(
    open_page: Any, dashboard: Dashboard, artifacts: Path
) -> None:
    session = open_page(375, 812)
    page = session.page
    expect_(page.get_by_role("heading", name="Sign in")).to_be_visible()
    for hidden in ("Sign out", "Clear filters"):  # nothing of a session before signing in
        expect_(page.get_by_role("button", name=hidden)).to_be_hidden()
    expect_(page.get_by_label("E-mail", exact=True)).to_be_hidden()  # the other sign-in mode
    assert_every_control_labelled(page, "the sign-in form")
    tab_until(page, focused_is("id", "api-key"))
    page.keyboard.type(dashboard.api_key)
    page.keyboard.press("Enter")
    expect_(page.get_by_role("heading", name="Tasks")).to_be_visible()
    expect_(page.locator("#live-text")).to_have_text("Live")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#rows tr").first.evaluate("r => getComputedStyle(r).display") == "block"

    task = dashboard.create("demo.sleep", {"seconds": 600, "steps": 600})
    try:
        expect_(row(page, task["_id"]).locator(".badge")).to_have_text("active")
        assert_every_control_labelled(page, "the task list")
        label = f"Cancel demo.sleep {task['_id']}"
        tab_until(page, focused_is("aria-label", label))
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert outline[0] != "none" and outline[1] != "0px", "focus must be visible"
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Cancel this task?")
        expect_(dialog).to_be_visible()
        expect_(dialog.get_by_role("button", name="Keep it running")).to_be_focused()
        assert_every_control_labelled(page, "the cancel dialog")
        page.keyboard.press("Escape")
        expect_(dialog).to_be_hidden()
        expect_(page.get_by_role("button", name=label)).to_be_focused()
        expect_(row(page, task["_id"]).locator(".badge")).to_have_text("active")
        page.keyboard.press("Enter")
        expect_(dialog).to_be_visible()
        page.keyboard.press("Tab")
        expect_(dialog.get_by_role("button", name="Cancel task")).to_be_focused()
        page.keyboard.press("Enter")
        expect_(row(page, task["_id"]).locator(".badge")).to_have_text("cancelled")
    finally:
        cancel_quietly(dashboard, task["_id"])
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "dashboard-375.png"))  # what a phone shows first

    tab_until(page, focused_is("data-focus", f"link:{task['_id']}"), key="Shift+Tab")
    page.keyboard.press("Enter")
    expect_(page.get_by_role("heading", name="Task demo.sleep")).to_be_focused()
    expect_(page.locator("#detail-body dt")).to_have_count(len(FIELDS))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_every_control_labelled(page, "the detail view")
    tab_until(page, focused_is("id", "sign-out"), key="Shift+Tab")
    page.keyboard.press("Enter")
    expect_(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert session.off_origin() == []
    assert session.errors == []


# 2: an open event stream does not hold up SIGTERM (uvicorn drains open responses first).
def test_open_event_stream_ends_promptly_on_sigterm(tmp_path: Path) -> None:
    server = off_loop(start_server, tmp_path)
    try:
        with server.client() as client:
            assert client.get("/v2.0/events", headers={"X-API-Key": ""}).status_code == 401
            with client.stream("GET", "/v2.0/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                lines = stream.iter_lines()
                assert next(lines) == "event: ready"
                server.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                rest = list(lines)
                ended = time.monotonic() - signalled
        assert "event: bye" in rest
        assert ended < 3.0, f"the stream took {ended:.1f}s to end after SIGTERM"
        assert server.process.wait(10) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        stop_server(server)
