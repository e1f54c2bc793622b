"""The clients' issue-14 calls against ``httpx.MockTransport``: keyed creates (and their safe
retry) and the schedules list, once with the sync and once with the async client."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from tests.unit.client.test_client_models import contract_task
from tests.unit.client.test_client_requests import Both, Recorder, failing, ok
from tests.unit.client.test_client_requests import make as make  # the fixture

ID = "65a1f0c2e4b0a1b2c3d4e5f6"


def test_create_sends_the_idempotency_key_header_and_the_unique_key(
    make: Callable[..., Both],
) -> None:
    server = Recorder(ok(contract_task(_id=ID), status=201))
    make(server)("create", "demo.sleep", {"s": 1}, idempotency_key="k-1", unique_key="u-1")
    sent = server.requests[0]
    assert sent.headers["idempotency-key"] == "k-1"
    assert json.loads(sent.content) == {"name": "demo.sleep", "data": {"s": 1}, "uniqueKey": "u-1"}


def test_a_plain_create_sends_neither(make: Callable[..., Both]) -> None:
    server = Recorder(ok(contract_task(_id=ID), status=201))
    make(server)("create", "demo.sleep")
    sent = server.requests[0]
    assert "idempotency-key" not in sent.headers
    assert "uniqueKey" not in json.loads(sent.content)


def test_a_keyed_create_is_retried_after_a_connection_error(make: Callable[..., Both]) -> None:
    server = failing([httpx.ConnectError("refused")], ok(contract_task(_id=ID), status=201))
    assert make(server)("create", "demo.sleep", idempotency_key="k").id == ID
    assert len(server.requests) == 2
    assert {r.headers["idempotency-key"] for r in server.requests} == {"k"}


def test_schedules_are_parsed(make: Callable[..., Both]) -> None:
    item = {
        "key": "nightly",
        "task": "cleanup",
        "cron": "0 3 * * *",
        "timezone": "Europe/Berlin",
        "data": {},
        "nextRun": "2026-12-02T02:00:00Z",
        "lastRun": None,
        "lastTaskId": None,
    }
    server = Recorder(ok({"items": [item], "total": 1}))
    (schedule,) = make(server)("schedules")
    assert server.requests[0].url.path == "/v2.0/schedules"
    assert (schedule.key, schedule.task, schedule.timezone) == (
        "nightly",
        "cleanup",
        "Europe/Berlin",
    )
    assert schedule.next_run == datetime(2026, 12, 2, 2, tzinfo=UTC)
    assert schedule.last_run is None and schedule.last_task_id is None
