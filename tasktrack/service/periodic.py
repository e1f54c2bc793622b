"""Periodic tasks (issue 14): schedules declared in code, and which slots are due.

A **schedule** creates a task of one type at each time its cron expression matches (a
*slot*), in its time zone. Cron expressions have 5 fields (minute resolution) or 6, the
first being seconds (cronsim's extension). Parsing and time-zone arithmetic are cronsim's
(maintained, typed); nothing here parses cron itself.

**Catch-up policy.** A scheduler creates every slot that fell due in the last
:attr:`Schedule.catch_up` seconds (default 60) and is not yet created, so a worker that was
busy or a database that paused for a moment leaves no gap. Slots older than that were
*missed* (every scheduler was down): of those only the latest is run, once, and only when no
newer slot is due (Celery beat's and APScheduler's "coalesce"). A schedule that never ran
starts with its latest slot at or before now (one task), never with older history.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

#: Default seconds within which every due slot is still created (see the module text).
CATCH_UP = 60.0
#: Most slots one schedule creates in one pass (a bound for a seconds-resolution schedule
#: with a long ``catch_up``).
MAX_SLOTS_PER_PASS = 1000


@dataclass(frozen=True, slots=True)
class Schedule:
    """One periodic schedule.

    Attributes:
        key: the schedule's stable name; the database records its slots under it (renaming
            it starts a new history).
        cron: a 5-field cron expression, or 6 fields with seconds first.
        task: the task type it creates.
        timezone: IANA zone the expression is read in (``Europe/Berlin``): ``0 9 * * *``
            is 09:00 local time, across daylight-saving changes.
        data: the created task's ``data`` (plus ``scheduledFor``, the slot's ISO time).
        org: the organisation (id or name) that owns the created tasks; None: the
            ``TASKTRACK_PERIODIC_ORG`` setting's.
        catch_up: seconds within which due slots are all still created.
    """

    key: str
    cron: str
    task: str
    timezone: str = "UTC"
    data: Mapping[str, Any] = field(default_factory=dict)
    org: str | None = None
    catch_up: float = CATCH_UP

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 200 or not self.key.isprintable():
            raise ValueError("a schedule key must be 1 to 200 printable characters")
        if self.catch_up < 0:
            raise ValueError("catch_up must be 0 or more seconds")
        try:
            CronSim(self.cron, datetime.now(self.zone()))
        except CronSimError as exc:
            raise ValueError(f"schedule {self.key!r}: bad cron expression: {exc}") from None

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"schedule {self.key!r}: unknown time zone {self.timezone!r}"
            ) from None

    def latest(self, at: float) -> float:
        """The latest slot at or before ``at`` (Unix seconds)."""
        start = datetime.fromtimestamp(math.floor(at), self.zone()) + timedelta(microseconds=1)
        return next(CronSim(self.cron, start, reverse=True)).timestamp()

    def after(self, at: float) -> Iterator[float]:
        """The slots strictly after ``at``, in order."""
        for slot in CronSim(self.cron, datetime.fromtimestamp(math.floor(at), self.zone())):
            yield slot.timestamp()

    def next_after(self, at: float) -> float:
        return next(self.after(at))

    def due(self, last: float | None, now: float) -> list[float]:
        """The slots to create now, given the latest slot already created (``last``)."""
        if last is None:
            return [self.latest(now)]
        window = now - self.catch_up
        floor = max(last, window)
        recent: list[float] = []
        for slot in self.after(floor):
            if slot > now or len(recent) >= MAX_SLOTS_PER_PASS:
                break
            recent.append(slot)
        if recent or floor == last:
            return recent
        missed = self.latest(floor)  # the newest slot older than the window
        return [missed] if missed > last else []
