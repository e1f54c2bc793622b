"""The SQLite stores: the default, one durable file.

Each lifecycle move is one conditional ``UPDATE ... WHERE status IN (...) RETURNING`` inside an
IMMEDIATE transaction, so the table in :mod:`tasktrack.domain.lifecycle` holds even with
several processes on one file. Fenced writes also match ``attempts = ?``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import Any

from tasktrack.domain.lifecycle import Status
from tasktrack.domain.listing import ListQuery, Page, Scope
from tasktrack.domain.task import Task
from tasktrack.errors import Conflict, LeaseLost, NotFound
from tasktrack.storage import lifecycle_sql as lsql
from tasktrack.storage.events import LocalEvents
from tasktrack.storage.paging import page_from_window
from tasktrack.storage.sql import list_sql
from tasktrack.storage.sqlite.connection import SQLiteDatabase
from tasktrack.storage.sqlite.identity import SQLiteIdentityStore
from tasktrack.storage.sqlite.rows import INSERT_TASK, exact_time, task_from_row, task_to_row

_SELECT_ONE = "SELECT * FROM tasks WHERE id = ?"
_TOUCH = lsql.TOUCH


def _lost(task_id: str, attempt: int) -> LeaseLost:
    return LeaseLost(f"attempt {attempt} of task {task_id} no longer holds it")


class SQLiteTaskStore:
    """A :class:`~tasktrack.storage.base.TaskStore` on a :class:`SQLiteDatabase`."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self.events = LocalEvents()

    async def create(self, task: Task) -> Task:
        def insert(con: sqlite3.Connection) -> None:
            try:
                con.execute(INSERT_TASK, task_to_row(task))
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"task {task.id} exists") from exc

        await self.db.write(insert)
        self.events.notify([task])
        return task

    async def get(self, task_id: str, scope: Scope | None = None) -> Task | None:
        row = self.db.read_inline(lambda con: con.execute(_SELECT_ONE, (task_id,)).fetchone())
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
        sql, count_sql, params, count_params = list_sql(query, "?", lower="tt_lower")

        def run(con: sqlite3.Connection) -> tuple[list[Any], int]:
            # One read transaction, so the page and the total see the same snapshot.
            con.execute("BEGIN")
            try:
                rows = con.execute(sql, params).fetchall()
                total = con.execute(count_sql, count_params).fetchone()[0]
            finally:
                con.execute("COMMIT")
            return rows, int(total)

        rows, total = await self.db.read(run)
        more = len(rows) > query.limit
        items = [task_from_row(r) for r in rows[: query.limit]]
        if query.cursor is not None and query.cursor.direction == "previous":
            items.reverse()
        sort = query.cursor.sort if query.cursor else query.sort
        return page_from_window(items, total, sort, more, query)

    async def request_cancel(self, task_id: str, scope: Scope, user_id: str, now: float) -> Task:
        now = exact_time(now)

        def cancel(con: sqlite3.Connection) -> Task:
            row = con.execute(_SELECT_ONE, (task_id,)).fetchone()
            task = task_from_row(row) if row else None
            if (
                task is None
                or task.org_id != scope.org_id
                or (scope.project_id is not None and task.project_id != scope.project_id)
            ):
                raise NotFound(f"Task {task_id} not found")
            if task.status in (Status.CANCELLING, Status.CANCELLED):
                return task
            if task.status is Status.QUEUED:
                sql = (
                    f"UPDATE tasks SET status = 'cancelled', last_finished_at = ?, "
                    f"last_changed_by = ?, {_TOUCH} WHERE id = ? AND status = 'queued' RETURNING *"
                )
                args: tuple[Any, ...] = (now, user_id, int(now), task_id)
            elif task.status is Status.ACTIVE:
                sql = (
                    f"UPDATE tasks SET status = 'cancelling', last_changed_by = ?, {_TOUCH} "
                    "WHERE id = ? AND status = 'active' RETURNING *"
                )
                args = (user_id, int(now), task_id)
            else:
                raise Conflict(f"Task {task_id} is already {task.status.value}")
            return task_from_row(con.execute(sql, args).fetchone())

        return self._notify(await self.db.write(cancel))

    async def claim(
        self, worker_id: str, names: Collection[str], limit: int, lease_seconds: float, now: float
    ) -> list[Task]:
        now = exact_time(now)
        names = list(names)
        if not names or limit < 1:
            return []
        sql = (
            f"UPDATE tasks SET status = 'active', attempts = attempts + 1, worker_id = ?, "
            f"lease_expires_at = ?, last_run_at = ?, {_TOUCH} "
            "WHERE id IN (SELECT id FROM tasks WHERE status = 'queued' AND run_after <= ? "
            f"AND name IN ({', '.join('?' * len(names))}) ORDER BY run_after, id LIMIT ?) "
            "RETURNING *"
        )
        args = (worker_id, now + lease_seconds, now, int(now), now, *names, limit)
        rows = await self.db.write(lambda con: con.execute(sql, args).fetchall())
        tasks = sorted((task_from_row(r) for r in rows), key=lambda t: (t.run_after, t.id))
        self.events.notify(tasks)
        return tasks

    async def renew_leases(
        self, worker_id: str, claims: Collection[tuple[str, int]], lease_seconds: float, now: float
    ) -> dict[str, Status]:
        if not claims:
            return {}

        def renew(con: sqlite3.Connection) -> dict[str, Status]:
            held: dict[str, Status] = {}
            for task_id, attempt in claims:
                row = con.execute(
                    "UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND attempts = ? "
                    f"AND status IN {lsql.RUNNING} RETURNING status",
                    (now + lease_seconds, task_id, attempt),
                ).fetchone()
                if row:
                    held[task_id] = Status(row[0])
            return held

        return await self.db.write(renew)

    async def record_progress(
        self, task_id: str, attempt: int, current_step: int, total_step: int, now: float
    ) -> Status:
        update = lsql.progress(task_id, attempt, current_step, max(total_step, current_step), now)
        check = lsql.running_status(task_id, attempt)

        def progress(con: sqlite3.Connection) -> Status:
            # No row: unchanged, or not ours any more; the second read tells which.
            row = con.execute(*update).fetchone() or con.execute(*check).fetchone()
            if row is None:
                raise _lost(task_id, attempt)
            return Status(row[0])

        status = await self.db.write(progress)
        self.events.touch(task_id)
        return status

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
        requeue = lsql.requeue(task_id, attempt, now, set_extra, extra)
        stop = lsql.stop(task_id, attempt, now)

        def run(con: sqlite3.Connection) -> Task:
            row = con.execute(*requeue).fetchone() or con.execute(*stop).fetchone()
            if row is None:
                raise _lost(task_id, attempt)
            return task_from_row(row)

        return self._notify(await self.db.write(run))

    async def _fenced(self, statement: lsql.Statement, task_id: str, attempt: int) -> Task:
        def run(con: sqlite3.Connection) -> Task:
            row = con.execute(*statement).fetchone()
            if row is None:
                raise _lost(task_id, attempt)
            return task_from_row(row)

        return self._notify(await self.db.write(run))

    def _notify(self, task: Task) -> Task:
        self.events.notify([task])
        return task

    async def expire_leases(self, now: float, lost_reason: str) -> list[Task]:
        statements = lsql.expire(exact_time(now), lost_reason)

        def expire(con: sqlite3.Connection) -> list[Task]:
            return [task_from_row(r) for st in statements for r in con.execute(*st).fetchall()]

        recovered = await self.db.write(expire)
        self.events.notify(recovered)
        return recovered

    async def statuses(self, task_ids: Collection[str]) -> dict[str, Status]:
        ids = list(task_ids)
        if not ids:
            return {}
        sql = f"SELECT id, status FROM tasks WHERE id IN ({', '.join('?' * len(ids))})"
        rows = self.db.read_inline(lambda con: con.execute(sql, ids).fetchall())
        return {row[0]: Status(row[1]) for row in rows}

    async def count_by_status(self) -> dict[Status, int]:
        rows = await self.db.read(
            lambda con: con.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall()
        )
        counts = dict.fromkeys(Status, 0)
        for status, n in rows:
            counts[Status(status)] = int(n)
        return counts

    async def wait_queued(self, timeout: float) -> None:
        await self.events.wait_queued(timeout)

    async def wait_changed(self, task_ids: Collection[str], timeout: float) -> None:
        await self.events.wait_changed(task_ids, timeout)

    async def close(self) -> None:
        return None


class SQLiteStores:
    """Both SQLite stores over one database file."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self.tasks = SQLiteTaskStore(db)
        self.identity = SQLiteIdentityStore(db)

    async def close(self) -> None:
        self.db.close()
