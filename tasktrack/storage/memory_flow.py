"""Flow control of the in-memory store's claims (issue 14): the same rules as the SQL
stores (:mod:`tasktrack.domain.flow`), counted from the tasks in memory."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from tasktrack.domain.flow import Limits, Usage, admit, limited
from tasktrack.domain.lifecycle import RUNNING, sources
from tasktrack.domain.task import Task


class MemoryFlow:
    """The starts log of rate-limited types, and admission of a claim's candidates."""

    def __init__(self) -> None:
        self._starts: dict[str, list[float]] = {}

    def claimable(
        self,
        tasks: Collection[Task],
        names: Collection[str],
        queues: Collection[str],
        limit: int,
        now: float,
        limits: Mapping[str, Limits] | None,
    ) -> list[Task]:
        """What a claim of ``names`` in ``queues`` takes now, oldest first (as the SQL
        store's limited claim orders)."""
        ready = sorted(
            (t for t in tasks if _runnable(t, names, now) and t.queue in queues),
            key=lambda t: (t.run_after, t.id),
        )
        if caps := limited(names, limits):
            ready = self._admit(tasks, ready, caps, limit, now)
        return ready[:limit]

    def _admit(
        self,
        tasks: Iterable[Task],
        ready: Sequence[Task],
        caps: Mapping[str, Limits],
        limit: int,
        now: float,
    ) -> list[Task]:
        """The tasks of ``ready`` (in claim order) that may start now, logged as started."""
        usage = self._usage(tasks, caps, now)
        candidates = ((t.id, t.name, t.concurrency_key) for t in ready)
        ids = set(admit(candidates, caps, usage, limit))
        chosen = [t for t in ready if t.id in ids]
        for task in chosen:
            limits = caps.get(task.name)
            if limits is not None and limits.rate is not None:
                self._starts.setdefault(task.name, []).append(now)
        return chosen

    def _usage(self, tasks: Iterable[Task], caps: Mapping[str, Limits], now: float) -> Usage:
        usage = Usage()
        for task in tasks:
            if task.status in RUNNING and task.name in caps:
                usage.add_running(task.name, task.concurrency_key)
        for name, limits in caps.items():
            if limits.rate is not None:
                since = now - limits.rate.period
                log = [t for t in self._starts.get(name, []) if t > since]
                self._starts[name] = log
                usage.starts[name] = len(log)
        return usage


_CLAIMABLE = frozenset(sources("claim"))


def _runnable(task: Task, names: Collection[str], now: float) -> bool:
    return task.status in _CLAIMABLE and task.run_after <= now and task.name in names
