"""The PostgreSQL TaskStore: many API processes and workers on many hosts, one database.

Claims use ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on, or take, each
other's rows. Every lifecycle move is one conditional UPDATE (``WHERE status IN (...)``, plus
``attempts = %s`` for fenced writes), so PostgreSQL's row locks enforce the lifecycle table.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Page, Scope
from tasktrack.domain.task import Task
from tasktrack.errors import Conflict, LeaseLost, NotFound, StorageError
from tasktrack.storage import lifecycle_sql as lsql
from tasktrack.storage.lifecycle_sql import pg
from tasktrack.storage.paging import page_from_window
from tasktrack.storage.postgres.connection import PostgresDatabase
from tasktrack.storage.sql import list_sql
from tasktrack.storage.sqlite.rows import TASK_COLUMNS, exact_time, task_from_row, task_to_row

_INSERT = (
    f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) VALUES "
    f"({', '.join('%s::json' if c == 'data' else '%s' for c in TASK_COLUMNS)})"
)
_SELECT_ONE = "SELECT * FROM tasks WHERE id = %s"
_RUNNING = lsql.RUNNING
_TOUCH = pg((lsql.TOUCH, ()))[0]


def _lost(task_id: str, attempt: int) -> LeaseLost:
    return LeaseLost(f"attempt {attempt} of task {task_id} no longer holds it")


#: Run in the claim's transaction before CLAIM (see ``claim`` for why). JIT goes off too: were
#: a sort ever unavoidable (the claim index dropped), the disabled sort's huge price would
#: also buy tens of milliseconds of JIT compiling for a sub-millisecond statement.
CLAIM_PLANNER = "SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true)"
CLAIM = (
    "WITH picked AS (SELECT id FROM tasks WHERE status = 'queued' AND run_after <= %s "
    "AND name = ANY(%s) ORDER BY run_after, id LIMIT %s FOR UPDATE SKIP LOCKED) "
    "UPDATE tasks t SET status = 'active', attempts = t.attempts + 1, worker_id = %s, "
    "lease_expires_at = %s, last_run_at = %s, last_changed = %s, "
    "version = t.version + 1 FROM picked WHERE t.id = picked.id RETURNING t.*"
)


class PostgresTaskStore:
    """A :class:`~tasktrack.storage.base.TaskStore` on a :class:`PostgresDatabase`."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        async with self.db.connection() as con:
            return await (await con.execute(sql, args)).fetchone()

    async def _all(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        async with self.db.connection() as con:
            return await (await con.execute(sql, args)).fetchall()

    async def create(self, task: Task) -> Task:
        try:
            async with self.db.connection() as con:
                await con.execute(_INSERT, task_to_row(task))
        except StorageError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise Conflict(f"task {task.id} exists") from exc
            raise
        return task

    async def get(self, task_id: str, scope: Scope | None = None) -> Task | None:
        row = await self._one(_SELECT_ONE, (task_id,))
        if row is None:
            return None
        task = task_from_row(row)
        if scope is not None and (
            task.org_id != scope.org_id
            or (scope.project_id is not None and task.project_id != scope.project_id)
        ):
            return None
        return task

    async def list_page(self, query: ListQuery) -> Page:
        sql, count_sql, params, count_params = list_sql(query, "%s")
        async with self.db.connection() as con:
            # One snapshot for the page and its total.
            async with con.transaction():
                await con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                rows = await (await con.execute(sql, params)).fetchall()
                row = await (await con.execute(count_sql, count_params)).fetchone()
        total = int(row[0]) if row else 0
        more = len(rows) > query.limit
        items = [task_from_row(r) for r in rows[: query.limit]]
        if query.cursor is not None and query.cursor.direction == "previous":
            items.reverse()
        sort = query.cursor.sort if query.cursor else query.sort
        return page_from_window(items, total, sort, more, query)

    async def request_cancel(self, task_id: str, scope: Scope, user_id: str, now: float) -> Task:
        now = exact_time(now)
        project = "" if scope.project_id is None else " AND project_id = %s"
        args: tuple[Any, ...] = (now, user_id, int(now), task_id, scope.org_id)
        row = await self._one(
            "UPDATE tasks SET "
            "status = CASE status WHEN 'queued' THEN 'cancelled' ELSE 'cancelling' END, "
            "last_finished_at = CASE status WHEN 'queued' THEN %s ELSE last_finished_at END, "
            f"last_changed_by = %s, {_TOUCH} "
            f"WHERE id = %s AND org_id = %s{project} AND status IN ('queued', 'active') "
            "RETURNING *",
            args if scope.project_id is None else (*args, scope.project_id),
        )
        if row is not None:
            return task_from_row(row)
        task = await self.get(task_id, scope)
        if task is None:
            raise NotFound(f"Task {task_id} not found")
        if task.status in (Status.CANCELLING, Status.CANCELLED):
            return task
        raise Conflict(f"Task {task_id} is already {task.status.value}")

    async def claim(
        self, worker_id: str, names: Collection[str], limit: int, lease_seconds: float, now: float
    ) -> list[Task]:
        now = exact_time(now)
        if not names or limit < 1:
            return []
        args = (now, list(names), limit, worker_id, now + lease_seconds, now, int(now))
        async with self.db.connection() as con, con.pipeline(), con.transaction():
            # The claim must read the queue in index order (tasks_claim), a few rows per call.
            # Statistics taken while few tasks were queued (a fresh table, or a quiet spell
            # before a burst) make the planner pick a bitmap scan that sorts *every* queued
            # row instead: 5 ms per claim at 10,000 queued, O(queue) per claim. Forbidding
            # the sort for this statement alone keeps the claim O(limit) whatever the
            # statistics say. Pipeline mode sends BEGIN, the settings, the claim and COMMIT
            # together.
            await con.execute(CLAIM_PLANNER)
            rows = await (await con.execute(CLAIM, args)).fetchall()
        return sorted((task_from_row(r) for r in rows), key=lambda t: (t.run_after, t.id))

    async def renew_leases(
        self, worker_id: str, claims: Collection[tuple[str, int]], lease_seconds: float, now: float
    ) -> dict[str, Status]:
        if not claims:
            return {}
        ids, attempts = zip(*claims, strict=True)
        rows = await self._all(
            "UPDATE tasks SET lease_expires_at = %s "
            "FROM unnest(%s::text[], %s::int[]) AS c(id, attempt) "
            f"WHERE tasks.id = c.id AND tasks.attempts = c.attempt AND tasks.status IN {_RUNNING} "
            "RETURNING tasks.id, tasks.status",
            (now + lease_seconds, list(ids), list(attempts)),
        )
        return {r[0]: Status(r[1]) for r in rows}

    async def record_progress(
        self, task_id: str, attempt: int, current_step: int, total_step: int, now: float
    ) -> Status:
        total = max(total_step, current_step)
        row = await self._one(*pg(lsql.progress(task_id, attempt, current_step, total, now)))
        if row is None:  # unchanged, or not ours any more: tell which
            row = await self._one(*pg(lsql.running_status(task_id, attempt)))
            if row is None:
                raise _lost(task_id, attempt)
        return Status(row[0])

    async def _fenced(self, statement: lsql.Statement, task_id: str, attempt: int) -> Task:
        row = await self._one(*pg(statement))
        if row is None:
            raise _lost(task_id, attempt)
        return task_from_row(row)

    async def finish(self, task_id: str, attempt: int, now: float) -> Task:
        return await self._fenced(lsql.finish(task_id, attempt, exact_time(now)), task_id, attempt)

    async def fail(self, task_id: str, attempt: int, reason: str, now: float) -> Task:
        statement = lsql.fail(task_id, attempt, reason, exact_time(now))
        return await self._fenced(statement, task_id, attempt)

    async def stop(self, task_id: str, attempt: int, now: float) -> Task:
        return await self._fenced(lsql.stop(task_id, attempt, exact_time(now)), task_id, attempt)

    async def retry(self, task_id: str, attempt: int, run_after: float, now: float) -> Task:
        return await self._requeue(task_id, attempt, now, "run_after = ?", (run_after,))

    async def release(self, task_id: str, attempt: int, now: float) -> Task:
        return await self._requeue(task_id, attempt, now, "max_attempts = max_attempts + 1", ())

    async def _requeue(
        self, task_id: str, attempt: int, now: float, set_extra: str, extra: tuple[Any, ...]
    ) -> Task:
        """active → queued, or cancelling → cancelled (a cancel request stops retries)."""
        now = exact_time(now)
        row = await self._one(*pg(lsql.requeue(task_id, attempt, now, set_extra, extra)))
        if row is None:
            row = await self._one(*pg(lsql.stop(task_id, attempt, now)))
        if row is None:
            raise _lost(task_id, attempt)
        return task_from_row(row)

    async def expire_leases(self, now: float, lost_reason: str) -> list[Task]:
        rows: list[Any] = []
        async with self.db.connection() as con, con.transaction():
            for statement in lsql.expire(exact_time(now), lost_reason):
                rows += await (await con.execute(*pg(statement))).fetchall()
        return [task_from_row(r) for r in rows]

    async def statuses(self, task_ids: Collection[str]) -> dict[str, Status]:
        if not task_ids:
            return {}
        rows = await self._all("SELECT id, status FROM tasks WHERE id = ANY(%s)", (list(task_ids),))
        return {r[0]: Status(r[1]) for r in rows}

    async def count_by_status(self) -> dict[Status, int]:
        rows = await self._all("SELECT status, count(*) FROM tasks GROUP BY status", ())
        counts = dict.fromkeys(Status, 0)
        for status, n in rows:
            counts[Status(status)] = int(n)
        return counts

    async def wait_queued(self, timeout: float) -> None:
        self.db.listen()
        await self.db.events.wait_queued(timeout)

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        self.db.listen()
        await self.db.events.wait_changed(task_ids, timeout)

    async def close(self) -> None:
        return None
