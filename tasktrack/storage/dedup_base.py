"""The storage verbs of issue 14's deduplicated creates and periodic tasks; part of
:class:`~tasktrack.storage.base.TaskStore` (kept here, beside the other verbs' module, so
each idea has its own file)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tasktrack.domain.dedup import Created, Dedup
from tasktrack.domain.task import Task, TraceContext


class DedupStore(Protocol):
    async def create_deduplicated(
        self, task: Task, dedup: Dedup, born_after: float, trace: TraceContext | None = None
    ) -> Created:
        """Store ``task`` (with ``trace``, as :meth:`create` does) unless one of ``dedup``'s
        keys is taken in its organisation:

        * an idempotency record of the key created at or after ``born_after`` (older ones
          have expired and are replaced): the same fingerprint gives that record's task
          (``REPLAYED``), another raises :class:`~tasktrack.domain.dedup.IdempotencyMismatch`;
        * an unfinished task holding the unique key: that task (``EXISTING``).

        Atomic: any number of concurrent calls with one key store at most one task."""
        ...

    async def unique_key_of(self, task_id: str) -> str | None:
        """The unique key ``task_id`` was created with, if any."""
        ...

    async def prune_idempotency(self, created_before: float, limit: int) -> int:
        """Delete at most ``limit`` idempotency records created before ``created_before``;
        how many went (0 at once while another process prunes, as :meth:`prune`)."""
        ...

    async def create_for_slot(self, schedule: str, slot: float, task: Task) -> Task | None:
        """Store ``task`` as the run of ``schedule``'s ``slot`` (Unix seconds), unless that
        slot already has its task (None). Exactly one call per (schedule, slot) succeeds."""
        ...

    async def last_runs(self, schedules: Sequence[str]) -> dict[str, tuple[float, str]]:
        """Per schedule that ran: its latest slot and that slot's task id."""
        ...

    async def prune_schedule_runs(self, created_before: float) -> int:
        """Forget slots recorded before ``created_before``, except each schedule's latest."""
        ...
