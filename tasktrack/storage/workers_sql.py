"""The worker registry and the overview's aggregate reads, in SQL shared by both dialects.

A heartbeat is one upsert (``INSERT … ON CONFLICT (id) DO UPDATE``, the same text on SQLite
and PostgreSQL) plus the prune of long-silent rows, in one transaction: the registry needs
no pruner loop of its own, and a table of a few dozen rows stays that size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.overview import PERCENTILES, Durations, FinishedCount, rank
from tasktrack.domain.workers import RunningAttempt, WorkerInfo
from tasktrack.storage.dialect import Dialect, Row, Statement

_COLUMNS = (
    "id, host, pid, started_at, heartbeat_at, interval_s, task_types, queues, concurrency, "
    "running, stopped_at"
)
_UPSERT = (
    f"INSERT INTO workers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
    "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
    "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, "
    "interval_s = excluded.interval_s, task_types = excluded.task_types, "
    "queues = excluded.queues, concurrency = excluded.concurrency, "
    "running = excluded.running, stopped_at = NULL"
)
_FORGET = "DELETE FROM workers WHERE heartbeat_at < ?"
_STOP = "UPDATE workers SET stopped_at = ?, running = '[]' WHERE id = ?"
_ALL = f"SELECT {_COLUMNS} FROM workers ORDER BY heartbeat_at DESC, id"


def _encode_running(running: Sequence[RunningAttempt]) -> str:
    return json.dumps([[r.task_id, r.attempt, r.org_id, r.name, r.started_at] for r in running])


def _attempt(item: list[Any]) -> RunningAttempt:
    task_id, attempt, org_id, name, started = item
    return RunningAttempt(task_id, int(attempt), org_id, name, float(started))


def _info(row: Row) -> WorkerInfo:
    id_, host, pid, started, beat, interval, types, queues, concurrency, running, stopped = row
    return WorkerInfo(
        id=id_,
        host=host,
        pid=int(pid),
        started_at=float(started),
        heartbeat_at=float(beat),
        heartbeat_interval=float(interval),
        task_types=tuple(json.loads(types)),
        queues=tuple(json.loads(queues)),
        concurrency=int(concurrency),
        running=tuple(_attempt(item) for item in json.loads(running)),
        stopped_at=None if stopped is None else float(stopped),
    )


class SqlWorkerStore:
    """A :class:`~tasktrack.storage.base.WorkerStore` on any dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def heartbeat(self, info: WorkerInfo, forget_before: float) -> None:
        values: tuple[Any, ...] = (
            info.id,
            info.host,
            info.pid,
            info.started_at,
            info.heartbeat_at,
            info.heartbeat_interval,
            json.dumps(list(info.task_types)),
            json.dumps(list(info.queues)),
            info.concurrency,
            _encode_running(info.running),
        )
        await self.dialect.write_all([(_UPSERT, values), (_FORGET, (forget_before,))])

    async def deregister(self, worker_id: str, now: float) -> None:
        await self.dialect.write_all([(_STOP, (now, worker_id))])

    async def workers(self) -> list[WorkerInfo]:
        return [_info(row) for row in await self.dialect.scan_all((_ALL, ()))]


# -- the overview's reads -------------------------------------------------------------------

#: The tasks_finished index's condition, spelled as migration 0005 does (see retention_sql).
_FINISHED = "status IN ('done', 'error', 'cancelled')"
#: Unfinished tasks per organisation, in two parts that each name a partial index's own
#: condition (tasks_claim, tasks_lease), so neither scans the finished tasks.
UNFINISHED: Statement = (
    "SELECT org_id, status, count(*) FROM tasks WHERE status = 'queued' GROUP BY org_id, status "
    "UNION ALL SELECT org_id, status, count(*) FROM tasks "
    "WHERE status IN ('active', 'cancelling') GROUP BY org_id, status",
    (),
)


def _ranks() -> str:
    """The nearest ranks of :data:`PERCENTILES` and of the maximum, in integer SQL."""
    return ", ".join([*(f"({p} * n + 99) / 100" for p in PERCENTILES), "n"])


def finished_counts(dialect: Dialect, org_id: str, since: float, bucket: int) -> Statement:
    """Tasks of ``org_id`` finished since ``since``, per ``bucket``-second bucket and status."""
    start = dialect.int_floor(f"last_finished_at / {int(bucket)}")
    sql = (
        f"SELECT {start} AS b, status, count(*) FROM tasks "
        f"WHERE {_FINISHED} AND last_finished_at >= ? AND org_id = ? GROUP BY b, status"
    )
    return sql, (since, org_id)


def done_durations(org_id: str, since: float) -> Statement:
    """The ranked run times (name, seconds, rank, count) of ``org_id``'s done tasks since
    ``since``: only the rows at the percentiles' ranks (window functions rank them)."""
    sql = (
        "SELECT name, d, rn, n FROM (SELECT name, last_finished_at - last_run_at AS d, "
        "row_number() OVER (PARTITION BY name ORDER BY last_finished_at - last_run_at) "
        "AS rn, count(*) OVER (PARTITION BY name) AS n FROM tasks "
        f"WHERE status = 'done' AND {_FINISHED} AND last_finished_at >= ? AND org_id = ? "
        f"AND last_run_at > 0) ranked WHERE rn IN ({_ranks()}) ORDER BY name, rn"
    )
    return sql, (since, org_id)


class SqlStatsStore:
    """A :class:`~tasktrack.storage.base.StatsStore` on any dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    async def finished_counts(
        self, org_id: str, since: float, bucket_seconds: int
    ) -> list[FinishedCount]:
        statement = finished_counts(self.dialect, org_id, since, bucket_seconds)
        rows = await self.dialect.scan_all(statement)
        return [FinishedCount(int(b) * bucket_seconds, s, int(n)) for b, s, n in rows]

    async def done_durations(self, org_id: str, since: float) -> list[Durations]:
        return _durations(await self.dialect.scan_all(done_durations(org_id, since)))

    async def unfinished_counts(self) -> dict[str, dict[Status, int]]:
        counts: dict[str, dict[Status, int]] = {}
        for org, status, n in await self.dialect.scan_all(UNFINISHED):
            counts.setdefault(org, {})[Status(status)] = int(n)
        return counts


def _durations(rows: Sequence[Row]) -> list[Durations]:
    """One :class:`Durations` per name from its ranked rows (name, value, rank, count)."""
    by_name: dict[str, dict[int, float]] = {}
    counts: dict[str, int] = {}
    for name, value, rn, n in rows:
        by_name.setdefault(name, {})[int(rn)] = max(float(value), 0.0)
        counts[name] = int(n)
    out = []
    for name, ranked in by_name.items():
        n = counts[name]
        p50, p90, p99 = (ranked[rank(p, n)] for p in PERCENTILES)
        out.append(Durations(name, n, p50, p90, p99, ranked[n]))
    return out
