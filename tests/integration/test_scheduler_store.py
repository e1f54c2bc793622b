"""The scheduler on every store (memory, SQLite, PostgreSQL), with a clock moved by hand: the
catch-up policy across a restart after downtime, and schedulers that share a database."""

from __future__ import annotations

from datetime import UTC, datetime

from tasktrack.domain.listing import ListQuery, Scope
from tasktrack.service.periodic import Schedule
from tasktrack.service.registry import TaskRegistry
from tasktrack.service.scheduler import Scheduler, slot_iso
from tasktrack.service.tasks import TaskService
from tasktrack.storage.base import Stores
from tests.conftest import ORG_A, FakeClock

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC).timestamp()
EVERY_MINUTE = Schedule("minutely", "* * * * *", "job", org=ORG_A, catch_up=90)


async def _ids(ref: str) -> str:
    return ref


def _scheduler(stores: Stores, clock: FakeClock) -> Scheduler:
    registry = TaskRegistry()
    registry.task("job")(lambda data, ctx: None)
    service = TaskService(stores.tasks, registry, clock)
    return Scheduler(service, [EVERY_MINUTE], _ids, "unused", clock)


async def _slots(stores: Stores) -> list[str]:
    page = await stores.tasks.list_page(ListQuery(Scope(ORG_A), limit=100))
    return sorted(t.data["scheduledFor"] for t in page.items)


async def test_after_downtime_a_restarted_scheduler_runs_the_latest_missed_slot_once(
    stores: Stores, clock: FakeClock
) -> None:
    clock.now = T0 + 5
    first = _scheduler(stores, clock)
    await first.run_due()  # a new schedule: its latest slot, 12:00
    clock.now = T0 + 65
    await first.run_due()  # 12:01
    clock.now = T0 + 3 * 3600 + 30  # every scheduler was down for three hours
    restarted = _scheduler(stores, clock)
    await restarted.run_due()
    await restarted.run_due()  # nothing more is due
    assert await _slots(stores) == [slot_iso(T0), slot_iso(T0 + 60), slot_iso(T0 + 3 * 3600)]


async def test_slots_within_the_catch_up_window_all_run(stores: Stores, clock: FakeClock) -> None:
    clock.now = T0 + 1
    scheduler = _scheduler(stores, clock)
    await scheduler.run_due()
    clock.now = T0 + 80  # one slot late (a paused process): still within 90 s
    await _scheduler(stores, clock).run_due()
    clock.now = T0 + 125
    await scheduler.run_due()  # the first scheduler, behind, tries 12:01 again: no double
    assert await _slots(stores) == [slot_iso(T0), slot_iso(T0 + 60), slot_iso(T0 + 120)]
    assert (await stores.tasks.last_runs(["minutely"]))["minutely"][0] == T0 + 120
