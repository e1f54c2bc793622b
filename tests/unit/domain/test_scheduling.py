"""The rules of the scheduling create options and the round-robin over lanes (issue 14)."""

from __future__ import annotations

import pytest

from tasktrack.domain.fairness import Lane, Rotation, take_in_turn
from tasktrack.domain.lifecycle import Status
from tasktrack.domain.scheduling import MAX_DELAY, check_priority, due_time, valid_queue
from tasktrack.domain.task import Task
from tasktrack.errors import InvalidArgument

NOW = 1_700_000_000.0


def test_due_time_is_now_run_at_or_now_plus_the_delay() -> None:
    assert due_time(None, None, NOW) == NOW
    assert due_time(None, 90, NOW) == NOW + 90
    assert due_time(NOW + 60, None, NOW) == NOW + 60
    assert due_time("2023-11-14T22:13:40Z", None, NOW) == NOW + 20
    assert due_time("2023-11-15T00:13:40+02:00", None, NOW) == NOW + 20
    assert due_time(NOW - 600, None, NOW) == NOW  # a past time means now


@pytest.mark.parametrize(
    ("run_at", "delay", "names"),
    [
        ("2023-11-14T22:14:20", None, "UTC offset"),
        ("soon", None, "ISO 8601"),
        (True, None, "runAt"),
        (float("nan"), None, "runAt"),
        (NOW + MAX_DELAY + 1, None, "366 days"),
        (None, -1, "delaySeconds"),
        (None, "5", "delaySeconds"),
        (None, float("inf"), "delaySeconds"),
        (NOW, 5, "not both"),
    ],
)
def test_bad_times_name_what_is_wrong(run_at: object, delay: object, names: str) -> None:
    with pytest.raises(InvalidArgument, match=names):
        due_time(run_at, delay, NOW)


def test_priorities_are_integers_within_the_range() -> None:
    assert check_priority(-1000) == -1000
    for bad in (1001, 1.0, True, "1"):
        with pytest.raises(InvalidArgument, match="priority"):
            check_priority(bad)


def test_queue_names() -> None:
    assert valid_queue("reports.eu-1") and valid_queue("a")
    assert not any(valid_queue(q) for q in ("", "-x", "a b", "x" * 65, "é"))


def task(org: str, i: int, queue: str = "q", priority: int = 0, due: float = NOW) -> Task:
    return Task(
        id=f"{i:024x}",
        name="job",
        data={},
        status=Status.QUEUED,
        org_id=org,
        created_by="u",
        created_at=0,
        run_after=due,
        priority=priority,
        queue=queue,
    )


def test_the_rotation_takes_turns_between_organisations_and_queues() -> None:
    rotation = Rotation()
    assert rotation.next_lane(["a", "b"]) == Lane("a", None, "")
    rotation.served("a", "org1")
    assert rotation.next_lane(["a", "b"]) == Lane("b", None, "")
    assert rotation.next_lane(["a", "b"]) == Lane("a", None, "org1")
    assert [lane.org_id for lane in rotation.order("a", ["org2", "org0", "org1"])] == [
        "org2",
        "org0",
        "org1",
    ]


def test_take_in_turn_serves_one_lane_by_priority_then_due_time_then_id() -> None:
    tasks = [
        task("A", 1, priority=1, due=NOW - 1),
        task("A", 2, priority=5, due=NOW - 1),
        task("A", 3, priority=1, due=NOW - 9),
        task("B", 4, priority=9),
    ]
    rotation = Rotation()
    first = take_in_turn(tasks, lambda t: True, rotation, ["q"], 10)
    assert [t.id[-1] for t in first] == ["2", "3", "1"]  # org A's lane only
    second = take_in_turn(tasks, lambda t: True, rotation, ["q"], 10)
    assert [t.id[-1] for t in second] == ["4"]  # then org B's


def test_take_in_turn_goes_past_a_lane_with_nothing_ready() -> None:
    tasks = [task("A", 1, due=NOW + 60), task("B", 2), task("C", 3)]
    taken = take_in_turn(tasks, lambda t: t.run_after <= NOW, Rotation(), ["q"], 10)
    assert [t.org_id for t in taken] == ["B", "C"]
