"""The storage verbs of the worker registry and the overview (issue 16): part of
:class:`~tasktrack.storage.base.Stores`, kept apart so each idea has its own file."""

from __future__ import annotations

from typing import Protocol

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.overview import Durations, FinishedCount
from tasktrack.domain.workers import WorkerInfo


class WorkerStore(Protocol):
    """The worker registry (issue 16): one row per worker, written by its heartbeat."""

    async def heartbeat(self, info: WorkerInfo, forget_before: float) -> None:
        """Insert or replace ``info``'s row (a stopped row comes back to life), and delete
        rows whose last heartbeat is older than ``forget_before``, in one transaction."""
        ...

    async def deregister(self, worker_id: str, now: float) -> None:
        """Mark the worker stopped at ``now`` (a clean shutdown); its row stays until pruned."""
        ...

    async def workers(self) -> list[WorkerInfo]:
        """Every registered worker, the most recent heartbeat first."""
        ...


class StatsStore(Protocol):
    """Aggregate reads for the dashboard's overview (issue 16), per organisation."""

    async def finished_counts(
        self, org_id: str, since: float, bucket_seconds: int
    ) -> list[FinishedCount]:
        """Tasks of ``org_id`` that finished at or after ``since``, counted per final status
        and per bucket of ``bucket_seconds`` (buckets aligned to multiples of it)."""
        ...

    async def done_durations(self, org_id: str, since: float) -> list[Durations]:
        """Per task type, run-time statistics of ``org_id``'s tasks that ended ``done`` at
        or after ``since`` (the run time of the attempt that finished each one)."""
        ...

    async def unfinished_counts(self) -> dict[str, dict[Status, int]]:
        """Queued, active and cancelling tasks per organisation (absent: none)."""
        ...
