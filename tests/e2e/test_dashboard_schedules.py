"""The dashboard's schedules page (issue 14) in headless Chromium, against its own server
whose task modules declare an every-second schedule (tests/apps/periodic.py), so the shared
dashboard server's task counts stay as its tests expect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import REPO, off_loop
from tests.e2e.test_dashboard import assert_every_control_labelled, expect_, sign_in_with_key
from tests.integration.conftest import Server, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def periodic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "TASKTRACK_WORKER": "1",
        "TASKTRACK_APP_MODULES": "tests.apps.periodic",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    server = off_loop(start_server, Path(tmp_path_factory.mktemp("periodic")), None, env)
    yield server
    stop_server(server)


def test_the_schedules_page_shows_next_and_last_run(browser: Any, periodic_server: Server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(periodic_server.base_url + "/")
        sign_in_with_key(page, periodic_server.api_key)
        page.get_by_role("link", name="Schedules").click()
        expect_(page.get_by_role("heading", name="Schedules")).to_be_visible()
        row = page.locator('tr[data-key="test.every_second"]')
        expect_(row).to_contain_text("* * * * * *")
        expect_(row).to_contain_text("UTC")
        # The last run links to the task it created (the slot comes within a second; the
        # page shows what it read, so reload until it has run).
        link = row.get_by_role("link")
        for _ in range(20):
            if link.count():
                break
            page.reload()
            expect_(page.get_by_role("heading", name="Schedules")).to_be_visible()
        link.click()
        expect_(page.get_by_role("heading", name="test.every_second")).to_be_visible()
        assert_every_control_labelled(page, "schedules")
        assert errors == []
    finally:
        context.close()
