"""``tasktrack webhooks`` in a subprocess on a SQLite file: the secret is printed once, what the
CLI makes is what the API shows, and bad input is one line and an exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_cli_identity import ok, tasktrack

HEX24 = re.compile(r"[0-9a-f]{24}")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'cli.db').resolve()}"


def test_create_list_deliveries_delete(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKTRACK_WEBHOOK_ALLOW_PRIVATE", "1")
    events = ["--event", "task.done", "--event", "task.error"]
    made = ok(tasktrack(db_url, "webhooks", "create", "http://127.0.0.1:9/hook", *events,
                        "--description", "ci"))  # fmt: skip
    hook_id = made[0].split()[2]
    assert HEX24.fullmatch(hook_id)
    assert made[0].endswith("for task.done, task.error")
    assert made[-1].startswith("whsec_")
    listed = ok(tasktrack(db_url, "webhooks", "list"))
    assert listed == [f"{hook_id}  http://127.0.0.1:9/hook  task.done,task.error  ci"]
    assert made[-1] not in "\n".join(listed)  # shown once only
    assert ok(tasktrack(db_url, "webhooks", "deliveries", hook_id)) == [
        "pending 0, delivered 0, dead 0"
    ]
    assert ok(tasktrack(db_url, "webhooks", "delete", hook_id)) == [f"deleted webhook {hook_id}"]
    gone = tasktrack(db_url, "webhooks", "delete", hook_id)
    assert (gone.returncode, gone.stderr.strip()) == (1, f"error: Webhook {hook_id} not found")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["create", "http://127.0.0.1/"], 1, "resolves to a non-public address (127.0.0.1)"),
        (["create", "gopher://example.com/"], 1, "must be an absolute http:// or https:// URL"),
        (["create", "http://x/", "--event", "task.progress"], 2, "Invalid value for '--event'"),
        (["deliveries", "nope"], 1, "webhookId must be 24 lowercase hex characters"),
    ],
)
def test_bad_input_is_one_line(db_url: str, args: list[str], code: int, message: str) -> None:
    done = tasktrack(db_url, "webhooks", *args)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr
