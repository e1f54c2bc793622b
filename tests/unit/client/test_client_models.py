"""Task and TaskPage parse the contract's JSON into typed, snake_case objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tasktrack.client import Task, TaskPage, TaskStatus
from tasktrack.client.models import CONTRACT_FIELDS, MalformedTask


def contract_task(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "exportPackage",
        "data": {"packageId": "abc", "nested": [1, {"x": None}]},
        "status": "active",
        "currentStep": 3,
        "totalStep": 10,
        "failReason": "",
        "lastRunAt": "2023-11-07T05:31:56Z",
        "lastFinishedAt": None,
        "_id": "65a1f0c2e4b0a1b2c3d4e5f6",
        "createdAt": 1699335116,
        "lastChanged": 1699335200,
        "createdBy": "1" * 24,
        "lastChangedBy": "2" * 24,
    }
    body.update(overrides)
    return body


def test_every_contract_field_becomes_a_typed_attribute() -> None:
    task = Task.from_json(contract_task())
    assert task.id == "65a1f0c2e4b0a1b2c3d4e5f6"
    assert task.name == "exportPackage"
    assert task.data == {"packageId": "abc", "nested": [1, {"x": None}]}
    assert task.status is TaskStatus.ACTIVE and str(task.status) == "active"
    assert (task.current_step, task.total_step, task.fail_reason) == (3, 10, "")
    assert task.last_run_at == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert task.last_finished_at is None
    assert task.created_at == datetime.fromtimestamp(1699335116, UTC)
    assert task.last_changed == datetime.fromtimestamp(1699335200, UTC)
    assert task.created_at.tzinfo is not None
    assert (task.created_by, task.last_changed_by) == ("1" * 24, "2" * 24)
    assert not task.is_terminal


def test_task_is_frozen() -> None:
    task = Task.from_json(contract_task())
    with pytest.raises(AttributeError):
        task.status = TaskStatus.DONE  # type: ignore[misc]


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        ("queued", False),
        ("active", False),
        ("cancelling", False),
        ("done", True),
        ("error", True),
        ("cancelled", True),
    ],
)
def test_terminal_statuses(status: str, terminal: bool) -> None:
    assert Task.from_json(contract_task(status=status)).is_terminal is terminal


def test_extra_fields_are_tolerated_and_kept_in_raw() -> None:
    body = contract_task(_links={"self": {"href": "/v2.0/tasks/x"}}, extension=1)
    task = Task.from_json(body)
    assert task.raw["extension"] == 1
    assert list(task.to_json()) == list(CONTRACT_FIELDS)  # the 13 fields, in order, no extras
    assert task.to_json()["lastRunAt"] == "2023-11-07T05:31:56Z"


def test_equality_ignores_raw() -> None:
    assert Task.from_json(contract_task()) == Task.from_json(contract_task(extra=True))


@pytest.mark.parametrize(
    "body",
    [
        [],
        {key: value for key, value in contract_task().items() if key != "_id"},
        contract_task(status="sleeping"),
        contract_task(currentStep="3"),
        contract_task(currentStep=True),
        contract_task(data=[1]),
        contract_task(lastRunAt="yesterday"),
        contract_task(lastRunAt=5),
        contract_task(createdAt=10**30),
    ],
    ids=lambda b: "list" if isinstance(b, list) else None,
)
def test_malformed_tasks_are_refused(body: Any) -> None:
    with pytest.raises(MalformedTask):
        Task.from_json(body)


def test_a_page_parses_items_total_and_cursors() -> None:
    page = TaskPage.from_json(
        {"items": [contract_task()], "total": 7, "nextCursor": "abc", "previousCursor": ""}
    )
    assert len(page.items) == 1 and page.items[0].name == "exportPackage"
    assert (page.total, page.next_cursor, page.previous_cursor) == (7, "abc", None)


@pytest.mark.parametrize(
    "body",
    [{"total": 1}, {"items": [], "total": "1"}, {"items": [], "total": 0, "nextCursor": 5}],
)
def test_malformed_pages_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedTask):
        TaskPage.from_json(body)
