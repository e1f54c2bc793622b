"""The runtime seen through the API of a real `tasktrack serve` with its in-process worker:
demo tasks run, ``?wait=`` long-polls, ETags and 304s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import _free_port, _wait_healthy

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    workdir = tmp_path_factory.mktemp("runtime")
    env = {
        **os.environ,
        "TASKTRACK_DATABASE_URL": f"sqlite:///{workdir}/t.db",
        "TASKTRACK_POLL_INTERVAL": "0.1",
        "TASKTRACK_WORKER": "1",
    }
    key = subprocess.run(
        [sys.executable, "-m", "tasktrack", "apikey", "create"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    port = _free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tasktrack", "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            assert _wait_healthy(proc, base, log), log.read_text()
            with httpx.Client(
                base_url=base, headers={"X-API-Key": key, **JSON}, timeout=90
            ) as client:
                yield client
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def create(api: httpx.Client, name: str, data: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v2.0/tasks", json={"name": name, "data": data})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def until_active(api: httpx.Client, task_id: str) -> httpx.Response:
    """Long-poll until the task is ``active``. Each poll names the state already seen
    (``If-None-Match``), so it returns at the next change: a bare ``?wait=`` sent after the
    claim would wait for the change after that, the whole timeout for a sleeping task."""
    response = api.get(f"/v2.0/tasks/{task_id}")
    while response.json()["status"] == "queued":
        seen = response.headers["ETag"]
        polled = api.get(
            f"/v2.0/tasks/{task_id}", params={"wait": 30}, headers={"If-None-Match": seen}
        )
        assert polled.status_code == 200, "no change within 30 s"
        response = polled
    return response


def test_demo_sleep_climbs_step_by_step_to_done(api: httpx.Client) -> None:
    task = create(api, "demo.sleep", {"seconds": 1.2, "steps": 4})
    assert (task["status"], task["currentStep"], task["totalStep"]) == ("queued", 0, 4)
    seen = [(task["status"], task["currentStep"])]
    etag = None
    while seen[-1][0] not in ("done", "error", "cancelled"):
        headers = {"If-None-Match": etag} if etag else {}
        r = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 10}, headers=headers)
        assert r.status_code == 200, r.text  # each long-poll ends on a change, not a timeout
        etag = r.headers["ETag"]
        seen.append((r.json()["status"], r.json()["currentStep"]))
    statuses = [s for s, _ in seen]
    assert statuses[0] == "queued" and statuses[-1] == "done" and "active" in statuses
    steps = [c for _, c in seen]
    assert steps == sorted(steps) and steps[-1] == 4
    assert len(set(steps)) >= 3  # it climbed through intermediate steps


def test_demo_fail_ends_in_error_with_its_message(api: httpx.Client) -> None:
    task = create(api, "demo.fail", {"message": "quota exceeded"})
    r = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 30})
    body = r.json()
    if body["status"] != "error":  # the first change may be queued -> active
        body = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 30}).json()
    assert body["status"] == "error"
    assert body["failReason"] == "quota exceeded"
    assert body["lastFinishedAt"] is not None


def test_wait_times_out_with_the_current_state(api: httpx.Client) -> None:
    task = create(api, "demo.sleep", {"seconds": 600, "steps": 1})
    assert until_active(api, task["_id"]).json()["status"] == "active"
    started = time.monotonic()
    r = api.get(
        f"/v2.0/tasks/{task['_id']}",
        params={"wait": 0.5},
        headers={"If-None-Match": api.get(f"/v2.0/tasks/{task['_id']}").headers["ETag"]},
    )
    waited = time.monotonic() - started
    assert r.status_code == 304 and r.content == b""
    assert waited >= 0.5
    plain = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 0.3})
    assert plain.status_code == 200 and plain.json()["status"] == "active"
    cancel = api.post(f"/v2.0/tasks/{task['_id']}/cancel")
    assert cancel.json()["status"] == "cancelling"
    final = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 30}).json()
    assert final["status"] == "cancelled"


def test_etag_and_if_none_match(api: httpx.Client) -> None:
    task = create(api, "demo.sleep", {"seconds": 600, "steps": 1})
    first = until_active(api, task["_id"])
    assert first.json()["status"] == "active"  # now it holds still for ten minutes
    etag = first.headers["ETag"]
    # Another representation of the same state carries the same (weak) ETag.
    xml = api.get(f"/v2.0/tasks/{task['_id']}", headers={"Accept": "application/xml"})
    assert xml.headers["ETag"] == etag
    again = api.get(f"/v2.0/tasks/{task['_id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    api.post(f"/v2.0/tasks/{task['_id']}/cancel")
    changed = api.get(f"/v2.0/tasks/{task['_id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    while changed.json()["status"] != "cancelled":  # cancelling, then cancelled: let it settle
        changed = api.get(
            f"/v2.0/tasks/{task['_id']}",
            params={"wait": 30},
            headers={"If-None-Match": changed.headers["ETag"]},
        )
    still = api.get(
        f"/v2.0/tasks/{task['_id']}",
        headers={"If-None-Match": f'"other", {changed.headers["ETag"]}'},
    )
    assert still.status_code == 304


@pytest.mark.parametrize("wait", ["-1", "61", "abc", "nan", "inf"])
def test_bad_wait_is_a_400(api: httpx.Client, wait: str) -> None:
    task = create(api, "demo.fail", {})
    r = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": wait})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert "wait" in r.json()["detail"]


def test_terminal_task_wait_answers_at_once(api: httpx.Client, tmp_path: Path) -> None:
    task = create(api, "demo.sleep", {"seconds": 600, "steps": 1})
    api.post(f"/v2.0/tasks/{task['_id']}/cancel")
    final = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 30}).json()
    if final["status"] != "cancelled":
        final = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 30}).json()
    started = time.monotonic()
    r = api.get(f"/v2.0/tasks/{task['_id']}", params={"wait": 60})
    assert r.json()["status"] == "cancelled"
    assert time.monotonic() - started < 30  # did not sit out the minute
