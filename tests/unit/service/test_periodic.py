"""Periodic schedules (issue 14): which slots are due (the catch-up policy), declaring them,
and the scheduler creating each slot's task once (in-memory store, fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tasktrack.domain.listing import ListQuery, Scope
from tasktrack.errors import NotFound
from tasktrack.service.periodic import Schedule
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import SCHEDULER_USER, Scheduler
from tasktrack.service.tasks import TaskService
from tasktrack.storage.memory import MemoryTaskStore
from tests.conftest import ORG_A, FakeClock

T0 = datetime(2026, 3, 29, 0, 0, tzinfo=UTC).timestamp()  # Berlin goes to summer time at 01:00 UTC


def _every(seconds: int, catch_up: float = 60.0) -> Schedule:
    return Schedule("s", f"*/{seconds} * * * * *", "job", catch_up=catch_up)


def test_a_new_schedule_starts_with_its_latest_slot_only() -> None:
    assert _every(5).due(None, T0 + 12.3) == [T0 + 10]


def test_every_slot_within_the_catch_up_window_is_due() -> None:
    assert _every(5).due(T0, T0 + 17) == [T0 + 5, T0 + 10, T0 + 15]
    assert _every(5).due(T0 + 15, T0 + 17) == []


def test_after_downtime_only_the_latest_missed_slot_runs_once() -> None:
    schedule = _every(5, catch_up=0)
    assert schedule.due(T0, T0 + 3600.5) == [T0 + 3600]
    assert schedule.due(T0 + 3600, T0 + 3601) == []


def test_older_missed_slots_are_dropped_when_newer_ones_are_due() -> None:
    assert _every(5, catch_up=12).due(T0, T0 + 3600) == [T0 + 3590, T0 + 3595, T0 + 3600]


def test_a_local_time_schedule_follows_daylight_saving() -> None:
    nine = Schedule("daily", "0 9 * * *", "job", timezone="Europe/Berlin")
    before = datetime(2026, 3, 28, 9, 0, tzinfo=UTC).timestamp()  # after 09:00 CET that day
    slots = list(zip(range(2), nine.after(before), strict=False))
    assert [datetime.fromtimestamp(s, UTC).hour for _, s in slots] == [7, 7]  # 09:00 CEST


@pytest.mark.parametrize(
    ("cron", "zone", "message"),
    [("nonsense", "UTC", "bad cron"), ("* * * * *", "Mars/Olympus", "unknown time zone")],
)
def test_bad_schedules_fail_at_declaration(cron: str, zone: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule("s", cron, "job", timezone=zone)


def test_periodic_registers_the_function_and_its_schedule() -> None:
    registry = TaskRegistry()

    @registry.periodic("*/5 * * * *", timezone="Europe/Berlin", data={"a": 1})
    def cleanup(data: dict[str, Any], ctx: Any) -> None:
        """Clean up."""

    @registry.periodic("0 * * * *", key="job-hourly")
    @registry.task("job")
    def job(data: dict[str, Any], ctx: Any) -> None: ...

    name = f"{__name__}.test_periodic_registers_the_function_and_its_schedule.<locals>.cleanup"
    assert name in registry and "job" in registry
    assert [(s.key, s.task, s.timezone) for s in registry.schedules()] == [
        ("job-hourly", "job", "UTC"),
        (name, name, "Europe/Berlin"),
    ]
    with pytest.raises(ValueError, match="declared twice"):
        registry.periodic("0 * * * *", key="job-hourly", name="job")(job)


async def test_two_schedulers_create_each_slot_once(clock: FakeClock) -> None:
    registry = TaskRegistry()
    registry.task("job")(lambda data, ctx: None)
    store = MemoryTaskStore()
    schedule = Schedule("s", "* * * * * *", "job", data={"x": 1}, org=ORG_A)

    async def resolve(ref: str) -> str:
        return ref

    def scheduler() -> Scheduler:
        return Scheduler(TaskService(store, registry, clock), [schedule], resolve, "x", clock)

    first, second = scheduler(), scheduler()
    clock.now = T0 + 0.2
    for _ in range(5):
        assert 0 < await first.run_due() <= 1
        await second.run_due()
        clock.advance(1)
    page = await store.list_page(ListQuery(Scope(ORG_A)))
    slots = sorted(t.data["scheduledFor"] for t in page.items)
    assert slots == [f"2026-03-29T00:00:0{i}Z" for i in range(5)]
    assert {(t.created_by, t.data["x"]) for t in page.items} == {(SCHEDULER_USER, 1)}
    assert (await store.last_runs(["s"]))["s"][0] == T0 + 4


async def test_a_schedule_that_cannot_create_its_task_does_not_stop_the_others(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    registry = TaskRegistry()
    registry.task("job")(lambda data, ctx: None)
    store = MemoryTaskStore()
    good = Schedule("good", "* * * * * *", "job", org=ORG_A)
    orphan = Schedule("orphan", "* * * * * *", "job", org="gone")

    async def resolve(ref: str) -> str:
        if ref != ORG_A:
            raise NotFound(f"no organisation {ref!r}")
        return ref

    service = TaskService(store, registry, clock)
    scheduler = Scheduler(service, [orphan, good], resolve, "x", clock)
    clock.now = T0
    for _ in range(3):
        await scheduler.run_due()
        clock.advance(1)
    assert (await store.last_runs(["good", "orphan"])).keys() == {"good"}
    assert (await store.list_page(ListQuery(Scope(ORG_A)))).total == 3
    refusals = [r for r in caplog.records if "orphan cannot create" in r.getMessage()]
    assert len(refusals) == 1 and "no organisation 'gone'" in refusals[0].getMessage()
